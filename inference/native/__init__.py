"""The native decoder step: C for the CPU, compiled on first use (``build``), driven from torch (``step``)."""
