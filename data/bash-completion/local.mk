# data/bash-completion/local.mk: bash completion for pricewatch, installed where bash-completion looks
# (configure asks pkg-config bash-completion for completionsdir under our own datadir; fallback
# $(datadir)/bash-completion/completions; override with make install bashcompletiondir=DIR).
dist_bashcompletion_DATA = data/bash-completion/pricewatch

# Sources the script in bash and checks completions for a few command lines against the built binary.
TESTS += tests/integration/test-completion.sh
EXTRA_DIST += tests/integration/test-completion.sh
