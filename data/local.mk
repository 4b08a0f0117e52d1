# data/local.mk: example config, demo shop and models installed under $(pkgdatadir).
dist_pkgdata_DATA = data/pricewatch.conf.example
demoshopdir = $(pkgdatadir)/demo/shop
dist_demoshop_DATA = \
	data/demo/shop/index.html data/demo/shop/kettle.html data/demo/shop/teapot.html \
	data/demo/shop/dates.html data/demo/shop/rice.html
