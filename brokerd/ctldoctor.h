/*
 * gatewayctl doctor as a person reads it: each recent problem brokerd explained
 * (its cause and fix), then the installation's facts, with the relay's guard
 * checked the way gatewayctl relay check does.
 */
#ifndef BROKERD_CTLDOCTOR_H
#define BROKERD_CTLDOCTOR_H

#include <yajl/yajl_tree.h>

/* Prints the answer; returns gatewayctl's exit status: 0 nothing to fix, 1 a
 * problem was listed or a check failed. */
int ctldoctor_show(yajl_val answer);

#endif
