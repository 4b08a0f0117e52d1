# data/local.mk: example config, demo shop and models installed under $(pkgdatadir).
dist_pkgdata_DATA = data/pricewatch.conf.example
demoshopdir = $(pkgdatadir)/demo/shop
dist_demoshop_DATA = \
	data/demo/shop/index.html data/demo/shop/kettle.html data/demo/shop/teapot.html \
	data/demo/shop/dates.html data/demo/shop/rice.html
modelsdir = $(pkgdatadir)/models
dist_models_DATA = data/models/mobilenetv2-nsfwjs.onnx data/models/NOTICE data/models/README.md
# Reference input and outputs for the model, used by the inference tests.
EXTRA_DIST += data/models/mobilenetv2-nsfwjs.input.npy data/models/mobilenetv2-nsfwjs.features.npy \
	data/models/mobilenetv2-nsfwjs.block10.npy
