// lwgatectl: command-line client of lwgate's admin API (status, connections, ping, ...).
#include <unistd.h>

#include <iostream>

#include "src/cli.hpp"

int main(int argc, char** argv) {
    return lwgate::ctl::run(argc, argv, std::cout, std::cerr, isatty(STDOUT_FILENO) == 1);
}
