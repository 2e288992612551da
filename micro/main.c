/* SPDX-License-Identifier: MIT */
/*
 * micro-bench - Dune micro-benchmarks over Google Benchmark.
 *
 * usage: micro-bench [--mode=linux|dune|dune-user] [--benchmark_* flags]
 *                    [--batch=N] [--iterations=N] [--warmup=N] [--lab-lines]
 *        micro-bench --list-json     the benchmark table as JSON
 *        micro-bench --probe-json    TSC rate, timer overhead, PMU, build
 *
 * Normally run by harness/bench/dunebench-bench, one benchmark per process
 * (--benchmark_filter), which pins it, repeats it and writes results/.
 * Exit status 77: the mode cannot be entered here (reason on stderr); 1: a
 * benchmark failed ("failed: ..." as its error, or "micro-bench: failed:"
 * on stderr when it failed after setup); 2: bad arguments.
 *
 * For the VMX lab, whose ticks are deterministic and whose emulation is
 * slow: --batch=N caps the ops per timed batch, --iterations=N fixes the
 * batches per repetition (no calibration), --warmup=N fixes the warm-up
 * batches, and --lab-lines prints one "@@BENCH {json}" line per
 * repetition (micro/tests/lab-bench.sh; dunebench bench --lab).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gbench/gbench.h"
#include "lib/driver.h"
#include "lib/pmu.h"
#include "lib/tsc.h"
#include "micro.h"

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void list_json(void)
{
	printf("[\n");
	for (size_t i = 0; i < micro_table_len; i++) {
		const struct micro_bench *b = &micro_table[i];
		int first = 1;

		printf("  {\"name\": ");
		json_str(b->name);
		printf(", \"what\": ");
		json_str(b->what);
		printf(", \"per\": ");
		json_str(b->per);
		printf(", \"batch\": %llu, \"hw_counters\": %s, \"modes\": [",
		       (unsigned long long)b->batch, b->hw_counters ? "true" : "false");
		for (int m = 0; m < MICRO_NR_MODES; m++) {
			if (!(b->modes & MICRO_M(m)))
				continue;
			printf("%s", first ? "" : ", ");
			json_str(micro_mode_name(m));
			first = 0;
		}
		printf("]}%s\n", i + 1 < micro_table_len ? "," : "");
	}
	printf("]\n");
}

static void probe_json(void)
{
	struct pmu p;
	char why[MICRO_WHY_LEN] = "";
	int pmu_ok = pmu_open(&p, why, sizeof(why)) == 0;

	printf("{\n  \"tsc_hz\": %.0f,\n", tsc_hz());
	printf("  \"timer_overhead_cycles\": %llu,\n",
	       (unsigned long long)micro_timer_overhead());
	printf("  \"gbench_version\": ");
	json_str(gb_version());
#ifdef MICRO_HAVE_LIBDUNE
	printf(",\n  \"libdune_linked\": true,\n");
#else
	printf(",\n  \"libdune_linked\": false,\n");
#endif
	printf("  \"pmu\": {\"available\": %s, \"reason\": ", pmu_ok ? "true" : "false");
	json_str(pmu_ok ? "" : why);
	printf(",\n    \"events\": {");
	for (int i = 0; i < PMU_NR_EVENTS; i++) {
		int on = pmu_ok && pmu_counting(&p, i);

		printf("%s\n      ", i ? "," : "");
		json_str(pmu_event_name[i]);
		printf(": {\"available\": %s, \"perf_type\": %u, \"perf_config\": \"0x%llx\", "
		       "\"reason\": ", on ? "true" : "false", p.type[i],
		       (unsigned long long)p.config[i]);
		json_str(on ? "" : p.why[i][0] ? p.why[i] : why);
		printf("}");
	}
	printf("}}\n}\n");
	if (pmu_ok)
		pmu_close(&p);
}

int main(int argc, char **argv)
{
	enum micro_mode mode = MICRO_LINUX;
	char why[MICRO_WHY_LEN];
	int out = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--list-json")) {
			list_json();
			return 0;
		} else if (!strcmp(argv[i], "--probe-json")) {
			probe_json();
			return 0;
		} else if (!strncmp(argv[i], "--batch=", 8)) {
			micro_knobs.batch_max = strtoull(argv[i] + 8, NULL, 0);
		} else if (!strncmp(argv[i], "--warmup=", 9)) {
			micro_knobs.warmup = atoi(argv[i] + 9);
		} else if (!strncmp(argv[i], "--iterations=", 13)) {
			gb_set_iterations(strtoll(argv[i] + 13, NULL, 0));
		} else if (!strcmp(argv[i], "--lab-lines")) {
			micro_knobs.lab_lines = 1;
		} else if (!strncmp(argv[i], "--mode=", 7)) {
			if (micro_mode_parse(argv[i] + 7, &mode)) {
				fprintf(stderr, "micro-bench: unknown mode '%s' (linux, dune, dune-user)\n",
					argv[i] + 7);
				return 2;
			}
		} else {
			argv[out++] = argv[i];
		}
	}
	argc = out;
	argv[argc] = NULL;

	if (gb_init(&argc, argv))
		return 2;
	if (micro_mode_enter(mode, why, sizeof(why))) {
		fprintf(stderr, "micro-bench: unavailable: %s\n", why);
		return 77;
	}
	micro_register(mode);
	gb_run();
	micro_teardown();
	return micro_failed() ? 1 : 0;
}
