package main

// syscall has no SYS_SETNS for 386 (its table predates the call); this is its number there.
const sysSetns = 346
