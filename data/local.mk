# data/local.mk: example config, demo shop and models installed under $(pkgdatadir).
dist_pkgdata_DATA = data/pricewatch.conf.example
demoshopdir = $(pkgdatadir)/demo/shop
dist_demoshop_DATA = \
	data/demo/shop/index.html data/demo/shop/kettle.html data/demo/shop/teapot.html \
	data/demo/shop/dates.html data/demo/shop/rice.html \
	data/demo/shop/apples.html data/demo/shop/oranges.html
demoimgdir = $(pkgdatadir)/demo/shop/img
dist_demoimg_DATA = data/demo/shop/img/apples.jpg data/demo/shop/img/oranges.webp
democatalogdir = $(pkgdatadir)/demo/catalog
dist_democatalog_DATA = data/demo/catalog/catalog.csv data/demo/catalog/apple.jpg \
	data/demo/catalog/orange.jpg
demodir = $(pkgdatadir)/demo
dist_demo_DATA = data/demo/NOTICE
modelsdir = $(pkgdatadir)/models
dist_models_DATA = data/models/mobilenetv2-nsfwjs.onnx data/models/NOTICE data/models/README.md
# Reference input and outputs for the model, used by the inference tests.
EXTRA_DIST += data/models/mobilenetv2-nsfwjs.input.npy data/models/mobilenetv2-nsfwjs.features.npy \
	data/models/mobilenetv2-nsfwjs.block10.npy
# CenterNet MobileNetV3 backbone (docs/model.md): the .onnx is made at setup by tools/fetch-centernet.sh, not
# committed; ONNX Runtime's output on the test pattern, used by tests/unit/test-descriptor.c when it is there.
EXTRA_DIST += data/models/centernet-mnv3.conv11.npy tests/unit/images
# Its settings and PCA whitening (learned by tools/learn-whitening.py; docs/matching.md), installed next to it.
dist_models_DATA += data/models/centernet-mnv3.json data/models/centernet-mnv3.white
# The CenterNet backbone is made at setup by tools/fetch-centernet.sh (its weights are not
# redistributed, docs/model.md); install it when this tree has it, else the daemon uses nsfwjs.
install-data-local:
	if test -f "$(srcdir)/data/models/centernet-mnv3.onnx"; then \
		$(MKDIR_P) "$(DESTDIR)$(modelsdir)" && \
		$(INSTALL_DATA) "$(srcdir)/data/models/centernet-mnv3.onnx" "$(DESTDIR)$(modelsdir)/"; fi
uninstall-local:
	rm -f "$(DESTDIR)$(modelsdir)/centernet-mnv3.onnx"
