// SPDX-License-Identifier: MIT
// gbench.cc - the C interface of gbench.h over Google Benchmark.
#include "gbench.h"

#include <benchmark/benchmark.h>

#include <vector>

extern "C" {
#include "../lib/stats.h"
}

static benchmark::State &S(struct gb_state *st)
{
	return *reinterpret_cast<benchmark::State *>(st);
}

static double stat_min(const std::vector<double> &v)
{
	return stats_min(v.data(), v.size());
}

static double stat_max(const std::vector<double> &v)
{
	return stats_max(v.data(), v.size());
}

static long long fixed_iterations;

extern "C" void gb_set_iterations(long long n)
{
	fixed_iterations = n;
}

extern "C" void gb_register(const char *name, gb_fn fn, void *arg)
{
	benchmark::internal::Benchmark *b =
		benchmark::RegisterBenchmark(name, [fn, arg](benchmark::State &state) {
			fn(reinterpret_cast<struct gb_state *>(&state), arg);
		});

	b->UseManualTime()
		->ComputeStatistics("min", stat_min)
		->ComputeStatistics("max", stat_max);
	if (fixed_iterations > 0)
		b->Iterations(fixed_iterations);
}

extern "C" int gb_init(int *argc, char **argv)
{
	benchmark::Initialize(argc, argv);
	return benchmark::ReportUnrecognizedArguments(*argc, argv) ? -1 : 0;
}

extern "C" int gb_run(void)
{
	size_t n = benchmark::RunSpecifiedBenchmarks();

	benchmark::Shutdown();
	return (int)n;
}

extern "C" int gb_keep_running(struct gb_state *st)
{
	return S(st).KeepRunning();
}

extern "C" void gb_set_iteration_time(struct gb_state *st, double seconds)
{
	S(st).SetIterationTime(seconds);
}

extern "C" void gb_counter(struct gb_state *st, const char *name, double value)
{
	S(st).counters[name] = benchmark::Counter(value);
}

extern "C" void gb_skip(struct gb_state *st, const char *why)
{
	S(st).SkipWithError(why);
}

extern "C" int gb_skipped(struct gb_state *st)
{
	return S(st).error_occurred();
}

extern "C" const char *gb_version(void)
{
#ifdef BENCHMARK_VERSION
	return BENCHMARK_VERSION;
#else
	return "unknown";
#endif
}
