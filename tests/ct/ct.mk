# Constant-time tests (ctgrind): tests/ct/ct_*.c built plain (no sanitizer) against the core
# sources and run under valgrind memcheck, secrets marked undefined. Invoked by `make ct`.
BUILD ?= build-ct
CT_SRC := $(sort $(wildcard tests/ct/ct_*.c))
CT_BINS := $(patsubst tests/ct/%.c,$(BUILD)/%,$(CT_SRC))
CORE_SRC := $(sort $(wildcard daemon/core/*.c))
CT_CFLAGS := -std=gnu11 -O2 -g -D_GNU_SOURCE -Idaemon $(shell pkg-config --cflags libsodium)
.PHONY: run
run: $(CT_BINS)
	@for b in $(CT_BINS); do echo "== $$b (valgrind)"; \
		valgrind -q --error-exitcode=1 --track-origins=yes $$b || exit 1; done; \
	echo "constant-time programs: $(words $(CT_BINS)) passed, 0 failed"
# headers are prerequisites too (a changed constant must rebuild), only the .c files are compiled
$(BUILD)/ct_%: tests/ct/ct_%.c $(CORE_SRC) $(wildcard daemon/core/*.h)
	@mkdir -p $(BUILD)
	$(CC) $(CT_CFLAGS) -o $@ $(filter %.c,$^) $(shell pkg-config --libs libsodium) -lpthread
