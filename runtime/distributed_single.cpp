// A world of one process: netc built without MPI.
#include <fmt/format.h>

#include "distributed.h"
#include "input_error.h"

namespace netc {

World& join_world(const Launch& launch) {
  if (launch.ranks > 1)
    throw InputError(fmt::format("the launcher started {} ranks, but this netc was built without MPI, so each would "
                                 "train alone; rebuild with Open MPI (libopenmpi-dev) installed",
                                 launch.ranks));
  static World world;
  return world;
}

void World::sum(float*, size_t) {}
void World::sum(double*, size_t) {}
void World::barrier() {}
std::string World::describe() const { return "no MPI (netc was built without it)"; }
void World::leave() {}

}  // namespace netc
