/* bench.h - `smmap bench`, kept apart from the everyday commands. */
#ifndef SMMAP_CLI_BENCH_H
#define SMMAP_CLI_BENCH_H

/* What follows "smmap bench" in its usage line. */
#define BENCH_OPERANDS "[--quick] [--json] [--reps N] [--case NAME] [--dir DIR]"

/* argv[0] is "bench"; returns the exit status. */
int cmd_bench(int argc, char **argv);

#endif
