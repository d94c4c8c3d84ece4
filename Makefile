# dske — one non-recursive GNU Makefile.
#   make [all]        build every program into build/bin (runnable from the tree)
#   make check        unit, constant-time, man-page and integration tests
#   make check SANITIZE=1   the same with AddressSanitizer + UBSan (own build dir)
#   make fuzz         every libFuzzer harness for FUZZ_SECONDS (default 60)
#   make bench        figures (never assertions)
#   make demo         a lab of 5 hubs and 2 clients, one key pair, printed
#   make deps         apt-get install what is missing (root)
#   make install      PREFIX/DESTDIR/SYSCONFDIR honoured
#   make deb          Debian packages into dist/
# Sources are found by wildcard: a library is every .c in its directory, a program
# is every .c in its directory, a unit test is tests/unit/test_<name>.c.

PREFIX ?= /usr
DESTDIR ?=
SYSCONFDIR ?= /etc
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
LOCALSTATEDIR ?= /var
PKG_CONFIG ?= pkg-config
SYSTEMDUNITDIR ?= $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
VERSION ?= $(shell cat VERSION 2>/dev/null || echo 0.1.0)
FUZZ_SECONDS ?= 60

CC ?= cc
CFLAGS ?= -O2 -g
PKGS := libsodium libcurl libmicrohttpd jansson inih uuid libkeyutils gnutls libsystemd
TEST_PKGS := cmocka

# Debian packages the build and the tests need (make deps installs the missing ones).
DEPS_PKGS := build-essential pkg-config clang valgrind libsodium-dev libcurl4-openssl-dev \
	libmicrohttpd-dev libjansson-dev libinih-dev uuid-dev libkeyutils-dev libcmocka-dev \
	libsystemd-dev libgnutls28-dev keyutils gnutls-bin openssl curl jq mandoc groff-base \
	iproute2 procps psmisc util-linux iputils-ping tcpdump socat \
	strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins
DEPS_TOOLS := cc clang valgrind pkg-config curl jq openssl keyctl mandoc ip
HAVE_DEPS := $(shell $(PKG_CONFIG) --exists $(PKGS) $(TEST_PKGS) 2>/dev/null && \
	for t in $(DEPS_TOOLS); do command -v $$t >/dev/null || exit 1; done && echo yes)

ifeq ($(SANITIZE),1)
BUILD ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SAN_FLAGS :=
endif

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter -Wvla -Wpointer-arith
ifneq ($(filter true 1,$(CI) $(WERROR)),)
WARN += -Werror
endif
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -fstack-clash-protection
ALL_CPPFLAGS := -D_GNU_SOURCE -DDSKE_VERSION=\"$(VERSION)\" -DSYSCONFDIR=\"$(SYSCONFDIR)\" \
	-Idaemon -Ikeyring -Iipsec-helper $(CPPFLAGS)
ALL_CFLAGS := -std=gnu11 $(WARN) $(HARDEN) $(SAN_FLAGS) -MMD -MP \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) $(CFLAGS)
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now $(SAN_FLAGS) $(LDFLAGS)
LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread -lm
TEST_LIBS := $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# ---------------------------------------------------------------- sources
# libraries: every .c in the directory (programs' mains live in their own dirs)
CORE_SRC    := $(sort $(wildcard daemon/core/*.c))
COMMON_SRC  := $(sort $(wildcard daemon/common/*.c))
KEYRING_SRC := $(sort $(wildcard keyring/*.c))
IPSEC_SRC   := $(sort $(wildcard ipsec-helper/*.c))
CLIENTD_SRC := $(sort $(wildcard daemon/clientd/*.c))
HUBD_SRC    := $(sort $(wildcard daemon/hubd/*.c))
# the daemons' logic is also a library (everything but main.c) so unit tests can link it
CLIENTD_LIB_SRC := $(filter-out daemon/clientd/main.c,$(CLIENTD_SRC))
HUBD_LIB_SRC    := $(filter-out daemon/hubd/main.c,$(HUBD_SRC))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_CORE    := $(BUILD)/lib/libdske-core.a
LIB_COMMON  := $(BUILD)/lib/libdske-common.a
LIB_KEYRING := $(BUILD)/lib/libdske-keyring.a
LIB_IPSEC   := $(BUILD)/lib/libdske-ipsec.a
LIB_CLIENTD := $(BUILD)/lib/libdske-clientd.a
LIB_HUBD    := $(BUILD)/lib/libdske-hubd.a
ALL_LIBS := $(LIB_CLIENTD) $(LIB_HUBD) $(LIB_IPSEC) $(LIB_KEYRING) $(LIB_COMMON) $(LIB_CORE)

# programs: name -> source directory
PROGRAMS := dske-hubd:daemon/hubd dske-clientd:daemon/clientd dskectl:daemon/dskectl \
	dske-psrd:daemon/psrd dske-request-key:keyring/request-key
prog_name = $(word 1,$(subst :, ,$(1)))
prog_dir  = $(word 2,$(subst :, ,$(1)))
# a program is built once its directory holds its main.c
BINS := $(foreach p,$(PROGRAMS),$(if $(wildcard $(call prog_dir,$(p))/main.c),$(BUILD)/bin/$(call prog_name,$(p))))
SCRIPTS := $(if $(wildcard daemon/lab/dske-lab),$(BUILD)/bin/dske-lab)

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/tests/%,$(BENCH_SRC))
# helper programs for tests and benches (built, never run by themselves): tests/tools/<name>.c
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRC))
MANPAGES := $(sort $(wildcard man/*.[1-8]))

.PHONY: all check unit ct man-lint integration fuzz fuzz-build bench demo deps install \
	uninstall clean deb check-deb test-build
.DEFAULT_GOAL := all

ifneq ($(HAVE_DEPS),yes)
# A fresh machine: install the Debian packages, then run the same target again.
all check unit integration fuzz bench demo test-build:
	$(MAKE) deps
	$(MAKE) $@
else

all: $(BINS) $(SCRIPTS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

define mklib
$(1): $(call obj,$(2))
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  AR      $$@")
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(eval $(call mklib,$(LIB_CORE),$(CORE_SRC)))
$(eval $(call mklib,$(LIB_COMMON),$(COMMON_SRC)))
$(eval $(call mklib,$(LIB_KEYRING),$(KEYRING_SRC)))
$(eval $(call mklib,$(LIB_IPSEC),$(IPSEC_SRC)))
$(eval $(call mklib,$(LIB_CLIENTD),$(CLIENTD_LIB_SRC)))
$(eval $(call mklib,$(LIB_HUBD),$(HUBD_LIB_SRC)))

define mkprog
$(BUILD)/bin/$(1): $(call obj,$(sort $(wildcard $(2)/*.c))) $(ALL_LIBS)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(ALL_CFLAGS) $$(ALL_LDFLAGS) -o $$@ $$(call obj,$$(sort $$(wildcard $(2)/*.c))) \
		-Wl,--start-group $$(ALL_LIBS) -Wl,--end-group $$(LIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call mkprog,$(call prog_name,$(p)),$(call prog_dir,$(p)))))

$(BUILD)/bin/dske-lab: daemon/lab/dske-lab
	@mkdir -p $(dir $@)
	$(Q)sed 's|@VERSION@|$(VERSION)|' $< > $@ && chmod 755 $@

# ---------------------------------------------------------------- tests
# a test that needs a mock #includes tests/unit/mock_<thing>.c; extra link flags: TEST_LDFLAGS_<name>
$(BUILD)/tests/test_%: tests/unit/test_%.c $(ALL_LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-LD $@")
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(TEST_LDFLAGS_$*) -Wl,--start-group $(ALL_LIBS) -Wl,--end-group \
		$(LIBS) $(TEST_LIBS)

$(BUILD)/tests/bench_%: tests/bench/bench_%.c $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		-Wl,--start-group $(ALL_LIBS) -Wl,--end-group $(LIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		-Wl,--start-group $(ALL_LIBS) -Wl,--end-group $(LIBS)

# test-only hub that corrupts the shares it relays (robustness tests): the hubd sources built
# with -DDSKE_TEST_FAULTS (--fault corrupt-shares); never installed, never packaged
HUBD_FAULTY := $(BUILD)/tests/tools/dske-hubd-faulty
$(BUILD)/obj-faulty/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (faults)")
	$(Q)$(CC) $(ALL_CPPFLAGS) -DDSKE_TEST_FAULTS $(ALL_CFLAGS) -c -o $@ $<
$(HUBD_FAULTY): $(patsubst %.c,$(BUILD)/obj-faulty/%.o,$(HUBD_SRC)) $(filter-out $(LIB_HUBD),$(ALL_LIBS))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(patsubst %.c,$(BUILD)/obj-faulty/%.o,$(HUBD_SRC)) \
		-Wl,--start-group $(filter-out $(LIB_HUBD),$(ALL_LIBS)) -Wl,--end-group $(LIBS)

test-build: all $(UNIT_BINS) $(BENCH_BINS) $(TOOL_BINS) $(if $(HUBD_SRC),$(HUBD_FAULTY))

# each cmocka program prints its own summary ([  PASSED  ] N test(s).)
unit: test-build
	$(Q)tests/run-unit $(UNIT_BINS)

# constant-time test (ctgrind): always a plain build, valgrind refuses sanitizers
ct:
	$(Q)$(MAKE) --no-print-directory -f tests/ct/ct.mk BUILD=build-ct

# lint every page; every config key the parsers accept is documented in its .conf(5) page
man-lint: $(BUILD)/tests/tools/dske-conf-keys all
	$(Q)tests/man-lint $(MANPAGES)
	$(Q)tests/man-keys $(BUILD)/tests/tools/dske-conf-keys man $(BUILD)/bin

integration: all test-build
	$(Q)BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/integration/run

check: unit ct man-lint integration
	@echo "make check: all passed"

# ---------------------------------------------------------------- fuzz
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
FUZZ_LIB_SRC := $(CORE_SRC) $(IPSEC_SRC) $(COMMON_SRC) $(KEYRING_SRC) $(CLIENTD_LIB_SRC) $(HUBD_LIB_SRC)
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -std=gnu11 \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)clang $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<
build-fuzz/libfuzz.a: $(patsubst %.c,build-fuzz/obj/%.o,$(FUZZ_LIB_SRC))
	$(Q)rm -f $@ && ar rcs $@ $^
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c build-fuzz/libfuzz.a
	$(Q)clang $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		-Wl,--start-group build-fuzz/libfuzz.a -Wl,--end-group $(LIBS)
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	$(Q)tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_BINS)

# ---------------------------------------------------------------- bench, demo
bench: all test-build
	$(Q)BUILD=$(BUILD) tests/bench/run

demo: all
	$(Q)BUILD=$(BUILD) daemon/lab/demo

endif # HAVE_DEPS

deps:
	@missing=$$(for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (apt-get)" >&2; exit 1; fi; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $$missing; \
	fi

# ---------------------------------------------------------------- install
# Daemons and the request-key handler go to SBINDIR, the rest to BINDIR; only what is built.
# SYSTEMD_UNITS=no leaves out the units and sysusers file (debian/rules: dh installs its own).
SBIN_PROGS := dske-hubd dske-clientd dske-request-key
SYSTEMD_UNITS ?= yes
SYSUSERSDIR ?= $(shell $(PKG_CONFIG) --variable=sysusersdir systemd 2>/dev/null || echo /usr/lib/sysusers.d)
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	for b in $(notdir $(BINS) $(SCRIPTS)); do \
		case " $(SBIN_PROGS) " in *" $$b "*) d=$(SBINDIR);; *) d=$(BINDIR);; esac; \
		install -m 755 $(BUILD)/bin/$$b $(DESTDIR)$$d/ || exit 1; done
	for m in $(MANPAGES); do s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	install -d -m 755 $(DESTDIR)$(SYSCONFDIR)/dske
	for c in client hub; do [ ! -f daemon/conf/$$c.conf ] || \
		install -m 640 daemon/conf/$$c.conf $(DESTDIR)$(SYSCONFDIR)/dske/$$c.conf || exit 1; done
	[ ! -f keyring/dske.request-key.conf ] || { install -d $(DESTDIR)$(SYSCONFDIR)/request-key.d && \
		install -m 644 keyring/dske.request-key.conf $(DESTDIR)$(SYSCONFDIR)/request-key.d/dske.conf; }
ifeq ($(SYSTEMD_UNITS),yes)
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	sed 's|/usr/sbin/|$(SBINDIR)/|g; s| /etc/| $(SYSCONFDIR)/|g' packaging/deb/dske-client.dske-clientd.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/dske-clientd.service
	sed 's|/usr/sbin/|$(SBINDIR)/|g; s| /etc/| $(SYSCONFDIR)/|g' packaging/deb/dske-hub.dske-hubd.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/dske-hubd.service
	install -m 644 packaging/deb/dske-client.sysusers $(DESTDIR)$(SYSUSERSDIR)/dske-client.conf
	install -m 644 packaging/deb/dske-hub.sysusers $(DESTDIR)$(SYSUSERSDIR)/dske-hub.conf
endif

# Debian packages from a clean tree (git HEAD), into dist/
deb:
	$(Q)VERSION=$(VERSION) packaging/make-deb

# packaging checks (slow: a Debian 12 root by debootstrap); .ci/run runs it after make check
check-deb: deb
	$(Q)VERSION=$(VERSION) tests/packaging/run

clean:
	rm -rf build build-san build-ct build-fuzz dist

-include $(shell find $(BUILD) build-fuzz -name '*.d' 2>/dev/null)
