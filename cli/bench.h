/* bench.h - `smmap bench`, kept apart from the everyday commands. */
#ifndef SMMAP_CLI_BENCH_H
#define SMMAP_CLI_BENCH_H

/* argv[0] is "bench"; returns the exit status. */
int cmd_bench(int argc, char **argv);

#endif
