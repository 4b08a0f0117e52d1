# man/local.mk: the three man pages.
dist_man_MANS += man/pricewatchd.8 man/pricewatch.1 man/pricewatch.conf.5
