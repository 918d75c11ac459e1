# SPDX-License-Identifier: BSD-2-Clause
#
# bpfbus build. What gets built is listed in Kbuild; this file only knows how.
# See docs/development.md.
#
#   make                 build everything into $(O) (default build/)
#   make V=1             print full commands
#   make check           sanitizer build into $(O)/check and run the selftests
#   make check T=selftests/bpf/test_datapath   run a subset
#   make bench           run tools/bench-run against $(O)
#   make install         PREFIX=/usr/local DESTDIR=
#   make clean

KBUILD ?= Kbuild
O ?= build
PREFIX ?= /usr/local
DESTDIR ?=
SANITIZE ?=

CC ?= cc
AR ?= ar
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config
INSTALL ?= install
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_ARCH ?= x86

# pkg-config modules every userspace program links with. Adding a library is
# one line here or in Kbuild (pkg-y += lmdb); <name>-pkgs adds to one program.
pkg-y := libbpf libelf zlib

lib-y :=
bin-y :=
bpf-y :=
tool-y :=
test-y :=
include $(KBUILD)

# ---------------------------------------------------------------------------
# Output style: kernel quiet mode unless V=1; nothing at all with make -s.

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s%s\n' '$(1)' '$(2)'
ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
msg =
endif
endif
rel = $(patsubst $(O)/%,%,$(1))

# ---------------------------------------------------------------------------
# Flags.

# $(call pkg_cflags/pkg_libs,mods): pkg-config, falling back to -l<mod> for
# modules without a .pc file (lib prefix stripped: libfoo -> -lfoo).
pkg_cflags = $(strip $(foreach p,$(1),$(shell $(PKG_CONFIG) --cflags $(p) 2>/dev/null)))
pkg_libs = $(strip $(foreach p,$(1),$(or $(shell $(PKG_CONFIG) --libs $(p) 2>/dev/null),-l$(patsubst lib%,%,$(p)))))

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BPFBUS_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -g -MMD -MP \
	-Iinclude -Iuserspace/lib -I$(O)
BPFBUS_LDFLAGS :=
ifneq ($(SANITIZE),)
BPFBUS_CFLAGS += $(SAN_FLAGS)
BPFBUS_LDFLAGS += $(SAN_FLAGS)
endif
BPFBUS_CFLAGS += $(EXTRA_CFLAGS)
BPFBUS_LDFLAGS += $(EXTRA_LDFLAGS)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
	-MMD -MP -I$(O) -Iinclude -Ibpf $(EXTRA_BPF_CFLAGS)

# ---------------------------------------------------------------------------
# What to build, as paths in $(O).

LIB := $(O)/libbpfbus.a
lib-objs := $(addprefix $(O)/,$(lib-y))
bins := $(addprefix $(O)/,$(bin-y))
tools := $(addprefix $(O)/,$(tool-y))
bpf-objs := $(addprefix $(O)/,$(bpf-y))
skels := $(patsubst bpf/%.bpf.o,$(O)/%.skel.h,$(bpf-y))

# test-y: scripts (*.sh, *.py) run from the source tree; anything else is a C
# test program built from <entry>.c (+ optional <entry>-objs).
test-scripts := $(filter %.sh %.py,$(test-y))
test-progs := $(filter-out %.sh %.py,$(test-y))
test-bins := $(addprefix $(O)/,$(test-progs))

# Every userspace object of every program, library and test.
prog-objs = $(foreach p,$(bin-y) $(tool-y),$(addprefix $(O)/,$($(p)-objs)))
test-objs = $(foreach t,$(test-progs),$(O)/$(t).o $(addprefix $(O)/,$($(t)-objs)))
all-objs = $(sort $(lib-objs) $(prog-objs) $(test-objs))

# Compile flags of every pkg-config module anything links with.
PKG_CFLAGS := $(call pkg_cflags,$(sort $(pkg-y) \
	$(foreach p,$(bin-y) $(tool-y) $(test-progs),$($(p)-pkgs))))

# ---------------------------------------------------------------------------

.PHONY: all bpf tests check bench install clean FORCE
.DEFAULT_GOAL := all

all: $(LIB) $(bins) $(tools) $(bpf-objs) $(skels)
bpf: $(bpf-objs) $(skels)
tests: all $(test-bins)

$(O)/%.o: %.c | $(skels)
	$(call msg,CC,$(call rel,$@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BPFBUS_CFLAGS) $(PKG_CFLAGS) $(CFLAGS_$(call rel,$@)) -c $< -o $@

$(LIB): $(lib-objs)
	$(call msg,AR,$(call rel,$@))
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Programs, tools and C tests: $(1) = output path, $(2) = objects, $(3) = pkgs.
define link-rule
$(1): $(2) $(LIB)
	$$(call msg,LD,$$(call rel,$$@))
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(BPFBUS_LDFLAGS) -o $$@ $(2) $(LIB) $$(call pkg_libs,$$(pkg-y) $(3)) $$(LDLIBS)
endef
$(foreach p,$(bin-y) $(tool-y),$(eval $(call link-rule,$(O)/$(p),$(addprefix $(O)/,$($(p)-objs)),$($(p)-pkgs))))
$(foreach t,$(test-progs),$(eval $(call link-rule,$(O)/$(t),$(O)/$(t).o $(addprefix $(O)/,$($(t)-objs)),$($(t)-pkgs))))

# vmlinux.h is regenerated when the kernel's BTF is newer, but replaced only
# when its content changes, so BPF objects rebuild only when they must.
# The stamp records when the BTF was last dumped.
$(O)/vmlinux.h: $(O)/.vmlinux.stamp ;
$(O)/.vmlinux.stamp: $(VMLINUX_BTF) $(if $(wildcard $(O)/vmlinux.h),,FORCE)
	$(call msg,GEN,$(call rel,$(O)/vmlinux.h))
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file $< format c > $(O)/vmlinux.h.tmp
	$(Q)if cmp -s $(O)/vmlinux.h.tmp $(O)/vmlinux.h; then rm -f $(O)/vmlinux.h.tmp; \
	else mv -f $(O)/vmlinux.h.tmp $(O)/vmlinux.h; fi; touch $@

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(O)/vmlinux.h
	$(call msg,CLANG,$(call rel,$@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/%.skel.h: $(O)/bpf/%.bpf.o
	$(call msg,GEN,$(call rel,$@))
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv -f $@.tmp $@

# ---------------------------------------------------------------------------
# check: the whole tree again with sanitizers in $(O)/check, then the tests.

SHARED ?= $(wildcard $(abspath ../shared))
T ?= $(test-y)

check:
	$(Q)$(MAKE) --no-print-directory O=$(O)/check SANITIZE=1 KBUILD=$(KBUILD) tests
	$(Q)BUILD=$(abspath $(O)/check) BPFBUS=$(abspath $(O)/check/bpfbus) \
		SRCTREE=$(CURDIR) SHARED=$(SHARED) \
		ASAN_OPTIONS=$${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
		UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1} \
		selftests/run-tests $(foreach t,$(T),$(if $(filter %.sh %.py,$(t)),$(t),$(O)/check/$(t)))

bench: all
	$(Q)if [ -x tools/bench-run ]; then \
		BUILD=$(abspath $(O)) BPFBUS=$(abspath $(O)/bpfbus) SRCTREE=$(CURDIR) \
		SHARED=$(SHARED) ./tools/bench-run; \
	else echo "tools/bench-run not found: nothing to run" >&2; exit 1; fi

docs := $(wildcard README.md LICENSE docs/*.md)

install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/bpfbus \
		$(DESTDIR)$(PREFIX)/share/doc/bpfbus
	$(Q)$(INSTALL) -m 0755 $(bins) $(DESTDIR)$(PREFIX)/bin/
	$(Q)$(if $(bpf-objs),$(INSTALL) -m 0644 $(bpf-objs) $(DESTDIR)$(PREFIX)/lib/bpfbus/)
	$(Q)$(if $(docs),$(INSTALL) -m 0644 $(docs) $(DESTDIR)$(PREFIX)/share/doc/bpfbus/)

clean:
	$(call msg,CLEAN,$(O))
	$(Q)rm -rf $(O)

-include $(all-objs:.o=.d) $(bpf-objs:.o=.d)
