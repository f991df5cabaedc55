/*
 * harness_main.c - the main() of every C suite: the runner of harness.c.
 * Apart so that a program with a main of its own can use the checks.
 */
#include "harness.h"

int main(int argc, char **argv)
{
    return t_main(argc, argv);
}
