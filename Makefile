# dunebench - top-level entry points.  `make help` lists them.
#
# Build products go under build/ (git-ignored).  Sub-directories have their
# own Makefiles; this one only sequences them.

SHELL      := /bin/bash
TOP        := $(CURDIR)
BUILD      := $(TOP)/build
TAPDIR     := $(BUILD)/tap
export TOP BUILD TAPDIR

# Directories with native code: each Makefile has `all` and `test`
# (`test` writes TAP files into $(TAPDIR)).
SUBDIRS    := tests harness ref-lib conformance harness/bench harness/lava harness/coverage man macro
# Testing another implementation (see README "Validate your implementation"):
# LIBDUNE=, DUNE_INCLUDE=, MODULE= pass through to the sub-makes and the lab.
ifneq ($(strip $(LIBDUNE)),)
# checked before anything is built: a mistyped path must not fall back to ours
ifeq ($(wildcard $(LIBDUNE)),)
$(error LIBDUNE=$(LIBDUNE): no such file (the libdune.a to test); nothing was built or run)
endif
LIBDUNE := $(abspath $(LIBDUNE))
export LIBDUNE
endif
ifneq ($(strip $(DUNE_INCLUDE)),)
export DUNE_INCLUDE
endif
ifneq ($(strip $(MODULE)),)
export MODULE
endif
DEPS_BUILD := build
DEPS_CHECK := build lab bench
DEPS_BENCH := build bench lab
# wall-clock limit of each of make check's lab boots (lab.sh's default, 900 s,
# is less than the AMD boot's fuzz test alone may take in the guest)
CHECK_LAB_TIMEOUT ?= 1800
# make bench BENCH_LAB=0: skip the VMX-lab tick run of the Dune modes
BENCH_LAB  ?= 1
# make bench BENCH_MACRO=0: skip the macro workloads (dunebench macro);
# MACRO_ARGS: its options (make bench-macro too)
BENCH_MACRO ?= 1
MACRO_ARGS ?= --size 200m --reps 3
# The TAP suites make check expects in $(TAPDIR), each with the step that
# writes it; the steps' exit statuses go to a file (STEP<TAB>STATUS lines)
# and harness/tap-summary judges all of it: no failure is lost.
TAP_SUITES ?= $(TOP)/harness/tap-suites.list
CHECK_STEPS = $(BUILD)/check-steps.txt
# $(call unit_steps,STATUS-FILE): each SUBDIRS `make test`, its exit status
# recorded; a failing one does not stop the others
unit_steps = for d in $(SUBDIRS); do $(MAKE) --no-print-directory -C $$d test; \
	printf '%s\t%s\n' $$d $$? >> $(1); done

.PHONY: conformance-selftest lab-selftest-iso module-install install all help deps deps-bench deps-check check unit bench bench-macro conformance lab coverage \
	lab-shell lab-selftest-iso module plots clean distclean

all: ## build the libraries, tools and tests for this host
	@for d in $(SUBDIRS); do $(MAKE) --no-print-directory -C $$d all || exit 1; done

help: ## list the targets and the knobs
	@{ echo "T dunebench targets:"; \
	  grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/R make \1\t\2/'; \
	  echo "T"; echo "T Knobs (make TARGET VAR=value):"; \
	  echo "R BENCH_ARGS='...'	make bench: more dunebench bench options, e.g. '--full --only syscall,trap'"; \
	  echo "R BENCH_LAB=0	make bench: skip the VMX-lab tick run of the Dune modes (default 1)"; \
	  echo "R BENCH_MACRO=0	make bench: skip the macro workloads and lighttpd (default 1)"; \
	  echo "R MACRO_ARGS='...'	make bench, make bench-macro: dunebench macro options (default --size 200m --reps 3)"; \
	  echo "R LAB_TESTS=<glob>	make lab: only the lab tests matching the glob(s)"; \
	  echo "R LAB_TIMEOUT=<s>	make lab: wall-clock limit of the emulator (default 900)"; \
	  echo "R CHECK_LAB_TIMEOUT=<s>	make check: the same for its Intel lab boot (default 1800)"; \
	  echo "R LAB_INJECT_FAIL=1	make lab: add a test that fails on purpose"; \
	  echo "R LAB_CPU=<model>	make lab: Bochs CPU model (trinity_apu: AMD)"; \
	  echo "R KABI=<abi>	the lab's Debian kernel ABI, e.g. 6.1.0-56"; \
	  echo "R KDIR=<headers>	make module: the kernel headers to build against"; \
	  echo "R LIBDUNE=<libdune.a>	test another library (with DUNE_INCLUDE=<dir>: its <dir>/dune/dune.h)"; \
	  echo "R MODULE=<dune.ko>	make lab-conformance: test another module; make bench: measure it (and LIBDUNE=) in the lab in one boot with ours"; \
	  echo "R CONFORM_ARGS='...'	make lab-conformance: -b vmx|kvm, -d DEPARTURES-FILE, -x GLOB, -t GLOB"; \
	  echo "R COVERAGE_ARGS='...'	make coverage: --update-list, --report-only, --no-steer, --save-corpus, --reuse-serial FILE (harness/coverage/run.sh --help)"; \
	  echo "R COVERAGE=1	make soak: the soak with the coverage build of dune.ko (harness/coverage/run.sh --soak)"; \
	  echo "R PREFIX=<dir>	make install: where to (default /usr/local); DESTDIR=<dir>: staging root"; \
	  echo "T"; echo "T See README.md for what each host type can run; man dunebench after make install."; \
	} | awk -F '\t' -v cols=$${COLUMNS:-80} ' \
		/^T/ { t[++n] = substr($$0, 3); next } \
		{ k[++n] = substr($$1, 3); v[n] = $$2; if (length(k[n]) > w) w = length(k[n]) } \
		END { w += 2; for (i = 1; i <= n; i++) { \
			if (!(i in k)) { print t[i]; continue } \
			line = sprintf("  %-" w "s", k[i]); len = w + 2; m = split(v[i], word, " "); \
			for (j = 1; j <= m; j++) { \
				if (len + length(word[j]) + 1 > cols - 1 && len > w + 2) { \
					print line; line = sprintf("%" (w + 2) "s", ""); len = w + 2 } \
				line = line (len > w + 2 ? " " : "") word[j]; len += (len > w + 2 ? 1 : 0) + length(word[j]) } \
			print line } }'

deps: ## install every Debian package any target needs (root)
	@harness/deps.sh $(sort $(DEPS_BUILD) $(DEPS_CHECK) $(DEPS_BENCH))

deps-check:
	@harness/deps.sh $(DEPS_CHECK)

deps-bench:
	@harness/deps.sh $(DEPS_BENCH)

unit: ## run the native unit tests (TAP into build/tap/); summary line last
	@mkdir -p $(BUILD) $(TAPDIR) && : > $(BUILD)/unit-steps.txt
	@$(call unit_steps,$(BUILD)/unit-steps.txt)
	@echo "== summary (unit tests)"
	@harness/tap-summary --suites $(TAP_SUITES) --status $(BUILD)/unit-steps.txt --tapdir $(TAPDIR)

lab: deps-check ## boot the VMX lab (Bochs) and run the lab tests inside it (LAB_CPU=trinity_apu: AMD)
	@mkdir -p $(TAPDIR)
	@harness/lab/lab.sh --tap $(TAPDIR)/lab-$(or $(LAB_CPU),intel).tap

lab-shell: deps-check ## build the lab images and print how to boot them by hand
	@harness/lab/lab.sh --build-only

# Random fuzz seeds are drawn here only (make check takes them from
# conformance/fuzz-seeds.list): lab boots for SOAK_MINUTES, a new seed each,
# at SOAK_SCALE times the fuzz iterations (README, "Soak").
SOAK_MINUTES ?= 60
SOAK_SCALE   ?= 1
.PHONY: soak
soak: deps-check ## fuzz with random seeds in the VMX lab for SOAK_MINUTES (60), vmx and kvm; prints every seed; COVERAGE=1: with the coverage build, reported beside make coverage's run
	@if [ "$(COVERAGE)" = 1 ]; then \
		LAB_SOAK_SCALE=$(SOAK_SCALE) harness/coverage/run.sh --soak $(SOAK_MINUTES) $(COVERAGE_ARGS); \
	else \
		LAB_TAG=soak LAB_WORKDIR=$(BUILD)/lab-soak LAB_SOAK_SCALE=$(SOAK_SCALE) \
			harness/lab/lab.sh --soak $(SOAK_MINUTES) --tap $(BUILD)/soak.tap; \
	fi

coverage: deps-check all ## line coverage of dune.ko in the VMX lab (suite, robustness, check, soak, both) into build/report/coverage/; checks harness/coverage/unreached.list
	@harness/coverage/run.sh $(COVERAGE_ARGS)

module: ## build build/module/dune.ko (KDIR=<headers>; default: running kernel's, else the lab kernel's)
	@harness/build-module.sh $(if $(KDIR),--kdir $(KDIR))

check: deps-check ## all tests: unit tests and the VMX lab; ends with "N passed, N failed, N skipped"
	@rm -rf $(TAPDIR) && mkdir -p $(TAPDIR) && : > $(CHECK_STEPS)
	@echo "== build"
	@$(MAKE) --no-print-directory all; printf 'build\t%s\n' $$? >> $(CHECK_STEPS)
	@echo "== unit tests"
	@$(call unit_steps,$(CHECK_STEPS))
	@echo "== module packaging: dkms add/build against the VMX lab kernel's headers"
	@harness/module-install.sh --test $(BUILD)/dkms-test --lab-kernel > $(TAPDIR)/module-dkms.tap 2>&1; \
		printf 'module-dkms\t%s\n' $$? >> $(CHECK_STEPS); cat $(TAPDIR)/module-dkms.tap
	@echo "== VMX lab (Intel, corei7_skylake_x) and, alongside, an AMD lab (trinity_apu), then the lab's isolation self-test and its SMP boot (Intel, 2 CPUs: the tests declared @cpus 2)"
	@{ LAB_TAG=amd LAB_WORKDIR=$(BUILD)/lab-amd harness/lab/lab.sh --cpu trinity_apu \
		--timeout $(CHECK_LAB_TIMEOUT) --tap $(TAPDIR)/lab-amd.tap > $(BUILD)/lab-amd.log 2>&1; \
	  printf 'lab-amd\t%s\n' $$? >> $(CHECK_STEPS); \
	  harness/lab/selftest-iso.sh > $(TAPDIR)/lab-iso.tap 2> $(BUILD)/lab-iso.log; \
	  printf 'lab-iso\t%s\n' $$? >> $(CHECK_STEPS); \
	  LAB_TAG=smp LAB_WORKDIR=$(BUILD)/lab-smp harness/lab/lab.sh --cpus 2 --smp-only \
		--timeout $(CHECK_LAB_TIMEOUT) --tap $(TAPDIR)/lab-smp.tap > $(BUILD)/lab-smp.log 2>&1; \
	  printf 'lab-smp\t%s\n' $$? >> $(CHECK_STEPS); } & amd=$$!; \
	LAB_TAG=intel harness/lab/lab.sh --timeout $(CHECK_LAB_TIMEOUT) --tap $(TAPDIR)/lab-intel.tap; \
	printf 'lab-intel\t%s\n' $$? >> $(CHECK_STEPS); \
	wait $$amd; \
	echo "-- AMD lab:"; tail -n 30 $(BUILD)/lab-amd.log 2>/dev/null || echo "(no log)"; \
	echo "-- isolation self-test (a hang and an oops on purpose):"; cat $(TAPDIR)/lab-iso.tap 2>/dev/null || echo "(no TAP)"; \
	echo "-- SMP lab (2 CPUs):"; tail -n 30 $(BUILD)/lab-smp.log 2>/dev/null || echo "(no log)"
	@echo "== summary"
	@# every declared suite is expected: one missing (its step failed to
	@# build or died before writing it) is a failure naming it
	@harness/tap-summary --all --suites $(TAP_SUITES) --status $(CHECK_STEPS) --tapdir $(TAPDIR)

lab-selftest-iso: deps-check ## the lab's isolation self-test: a hang and an oops end only their own tests
	@mkdir -p $(TAPDIR)
	@harness/lab/selftest-iso.sh > $(TAPDIR)/lab-iso.tap; rc=$$?; cat $(TAPDIR)/lab-iso.tap; exit $$rc

conformance: all ## the conformance suite natively (LIBDUNE=, DUNE_INCLUDE= to test another library)
	@build/bin/dunebench conform $(CONFORM_ARGS)

conformance-selftest: deps-check ## the whole mutation self-test in the VMX lab: every deliberate defect must be caught
	@mkdir -p $(TAPDIR)
	@LAB_LISTS=$(TOP)/conformance/selftest/lab-mutants-full.list LAB_WORKDIR=$(BUILD)/lab-mutants \
		harness/lab/lab.sh --timeout 3600 --tap $(TAPDIR)/conformance-selftest.tap

lab-conformance: deps-check ## the conformance suite in the VMX lab (LIBDUNE=, DUNE_INCLUDE=, MODULE=, CONFORM_ARGS=)
	@mkdir -p $(TAPDIR)
	@build/bin/dunebench conform --lab $(CONFORM_ARGS)

bench: deps-bench all ## run the benchmarks (--quick) on this host's best backend, write results/ and plots
	@build/bin/dunebench bench --quick $(BENCH_ARGS)
	@if [ "$(BENCH_MACRO)" != 0 ]; then build/bin/dunebench macro $(MACRO_ARGS); fi
	@if [ "$(BENCH_LAB)" != 0 ]; then build/bin/dunebench bench --lab; fi
	@$(MAKE) --no-print-directory plots

bench-macro: deps-bench all ## the macro workloads and lighttpd natively and in the Dune sandbox (MACRO_ARGS), then the plots
	@build/bin/dunebench macro $(MACRO_ARGS)
	@$(MAKE) --no-print-directory plots

plots: deps-bench ## render tables and figures from results/ into build/report/
	@/usr/bin/python3 plots/report.py
	@echo "plots: open build/report/index.html"

module-install: ## install dune.ko with DKMS for the running kernel, plus a udev rule for group "dune" (root; --no-dkms: MODULE_INSTALL_ARGS)
	@harness/module-install.sh $(MODULE_INSTALL_ARGS)

install: all ## install libdune (headers, libdune.a/.so, libdune.pc) and the manual pages (share/man/man1) into PREFIX (/usr/local), DESTDIR
	@$(MAKE) --no-print-directory -C ref-lib install
	@$(MAKE) --no-print-directory -C man install

clean: ## remove build products (keeps downloaded lab packages)
	@for d in $(SUBDIRS); do $(MAKE) --no-print-directory -C $$d clean || true; done
	@find $(BUILD) -mindepth 1 -maxdepth 1 ! -name lab-cache -exec rm -rf {} + 2>/dev/null || true

distclean: ## remove build/ entirely, downloads included
	rm -rf $(BUILD)
