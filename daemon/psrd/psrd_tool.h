/* psrd_tool.h — dske-psrd's subcommands (main.c dispatches). Each returns the exit status. */
#pragma once
#include <stdio.h>

#define PSRD_EXIT_FAIL 1
#define PSRD_EXIT_USAGE 2

int psrd_make_main(int argc, char **argv);
int psrd_inspect_main(int argc, char **argv);
void psrd_usage(FILE *out);
