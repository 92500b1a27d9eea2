#include "nbms/app/daemon.hpp"

int main(int argc, char** argv) {
  return nbms::app::main(argc, argv);
}
