# SPDX-License-Identifier: GPL-2.0
#
# holefs top-level Makefile.  `make help` lists the targets.
#
# KDIR=<tree>   use an existing Rust-enabled 6.12 build tree instead of the cache.
# LLVM=-19      the toolchain suffix (default; the kernel is built with it).

ifneq ($(KERNELRELEASE),)
# Invoked by kbuild: everything is in Kbuild.
include $(src)/Kbuild
else

SHELL := /bin/bash
LLVM ?= -19
RUSTC := /usr/bin/rustc
export LLVM RUSTC
TOP := $(CURDIR)
BUILD := $(TOP)/build
# Resolved lazily: only targets that need a kernel build or look one up.
KDIR_CMD = $(if $(KDIR),$(KDIR),$$($(TOP)/scripts/kernel-build base | tail -n1))

.PHONY: all help setup kernel kernel-debug module tools guest-payload check check-host \
	check-guest check-debug matrix audit bench shell clean

all: module

help:
	@echo 'holefs targets (KDIR=<tree>: an existing 6.12 Rust build tree instead of'
	@echo 'the cached kernel; QUICK=1: smoke runs of matrix and bench):'
	@echo
	@echo '  module         holefs.ko against KDIR or the cached kernel (default target)'
	@echo '  tools          static test binaries -> build/bin/'
	@echo '  guest-payload  module + test binaries -> build/guest/'
	@echo '  matrix         the race matrix -> build/results/matrix/<time>/ (the main job)'
	@echo '  bench          fault-path benchmarks -> build/results/bench/<time>/'
	@echo '  audit          the race instrument against the real file systems of 6.12'
	@echo '                 -> build/results/audit/<time>/ (QUICK=1, JOBS=N, SHARD=i/N,'
	@echo '                 HOST=DIR: scripts/audit --help)'
	@echo '  check          every test: host, lint, guest suites, QUICK matrix;'
	@echo '                 ends with "N passed, M failed"'
	@echo '  check-host     host tests only: cargo test, every script answers --help,'
	@echo '                 what a kernel flavor resolves to (scripts/check-kernel-build),'
	@echo '                 scripts/compare on made-up runs (scripts/check-compare)'
	@echo '  check-guest    build, then the guest suites under run-qemu and run-vng'
	@echo '  check-debug    the guest suites on the debug kernel (slow)'
	@echo '  shell          a busybox shell in the guest (Ctrl-A x quits)'
	@echo '  kernel         build or find the cached test kernel'
	@echo '  kernel-debug   the same for the debug kernel'
	@echo '  setup          install what is missing (Debian 12; matrix, bench, check and'
	@echo '                 the kernel targets run it first; module, tools and'
	@echo '                 guest-payload only when KDIR is not given)'
	@echo '  clean          remove everything the build made in the repository (module'
	@echo '                 objects, generated bindings, build/, cargo target dirs);'
	@echo '                 the kernel cache stays'
	@echo '  help           this list'

setup:
	@scripts/setup

kernel: setup
	@scripts/kernel-build base

kernel-debug: setup
	@scripts/kernel-build debug

# With KDIR the kernel tree and its toolchain are the caller's: building
# against it needs no installer run.
SETUP_UNLESS_KDIR := $(if $(KDIR),,setup)

# Build the module (in-tree artifacts next to the sources, as kbuild does).
module: $(SETUP_UNLESS_KDIR)
	@kdir="$(KDIR_CMD)" && \
	$(MAKE) -C "$$kdir" M=$(TOP) LLVM=$(LLVM) RUSTC=$(RUSTC) modules

tools: $(SETUP_UNLESS_KDIR)
	@scripts/build-tools "$(KDIR_CMD)"

guest-payload: module tools
	@scripts/stage-guest "$(BUILD)/guest"

check: setup
	@scripts/check

check-host:
	@scripts/check --host

check-guest: setup
	@scripts/check --guest

check-debug: setup
	@HOLEFS_FLAVOR=debug scripts/check --debug

matrix: setup
	@scripts/matrix

bench: setup
	@scripts/bench

audit: setup
	@scripts/audit

shell: guest-payload
	@scripts/run-qemu --interactive

# What kbuild's clean removes, without needing a kernel tree, and the rest
# of the build's outputs.
clean:
	rm -f holefs.ko holefs.o holefs.mod holefs.mod.c holefs.mod.o .module-common.o \
		Module.symvers modules.order rust/bindings_generated.rs
	find . rust -maxdepth 1 -type f \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '.*.d' -o -name '*.d' \
		-o -name '*.rmeta' -o -name '*.tmp' \) -delete
	rm -rf $(BUILD) target tools/target tools/*/target scripts/__pycache__

endif
