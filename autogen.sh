#!/bin/sh
# Regenerates the autotools build files (configure, Makefile.in) from configure.ac and Makefile.am.
set -e
autoreconf -fi
