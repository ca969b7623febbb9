# SPDX-License-Identifier: GPL-2.0
#
# holefs top-level Makefile.
#
#   make            build holefs.ko against $(KDIR) (default: the cached kernel)
#   make matrix     the race matrix (the main job)
#   make check      all tests: host unit tests + in-guest suites (both runners)
#   make check-debug  the in-guest suites on the debug kernel
#   make bench      fault-path benchmarks
#   make shell      interactive shell in the guest (QEMU, busybox)
#   make kernel     build/find the cached kernel only
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

.PHONY: all setup kernel kernel-debug module tools guest-payload check check-host \
	check-guest check-debug matrix bench shell clean

all: module

setup:
	@scripts/setup

kernel: setup
	@scripts/kernel-build base

kernel-debug: setup
	@scripts/kernel-build debug

# Build the module (in-tree artifacts next to the sources, as kbuild does).
module: setup
	@kdir="$(KDIR_CMD)" && \
	$(MAKE) -C "$$kdir" M=$(TOP) LLVM=$(LLVM) RUSTC=$(RUSTC) modules

tools: setup
	@scripts/build-tools "$(KDIR_CMD)"

guest-payload: module tools
	@scripts/stage-guest "$(BUILD)/guest"

check: setup
	@scripts/check

check-debug: setup
	@HOLEFS_FLAVOR=debug scripts/check --debug

matrix: setup
	@scripts/matrix

bench: setup
	@scripts/bench

shell: guest-payload
	@scripts/run-qemu --interactive

clean:
	@if [ -n "$(KDIR)" ] || [ -e $${XDG_CACHE_HOME:-$$HOME/.cache}/holefs/kernel/base ]; then \
		$(MAKE) -C "$(KDIR_CMD)" M=$(TOP) LLVM=$(LLVM) RUSTC=$(RUSTC) clean; fi
	rm -rf $(BUILD)
	cd tools && env -u RUSTC cargo clean -q || true

endif
