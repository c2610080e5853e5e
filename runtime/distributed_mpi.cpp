// The world of an MPI job (Open MPI, through its C interface).
// C++ code including mpi.h gets MPI's deprecated C++ bindings unless told not to.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#if __has_include(<mpi-ext.h>)
#include <mpi-ext.h>  // Open MPI's MPIX_CUDA_AWARE_SUPPORT
#endif

#include <stdexcept>

#include <fmt/format.h>

#include "distributed.h"
#include "input_error.h"

namespace netc {
namespace {

void check(int error, const char* what) {
  if (error == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(error, text, &length);
  throw std::runtime_error(fmt::format("{} failed: {}", what, std::string(text, size_t(length))));
}

// Counts of a sum, in pieces that fit MPI's int counts.
template <typename T>
void sum_in_pieces(T* values, size_t count, MPI_Datatype type) {
  constexpr size_t kPiece = size_t(1) << 30;
  for (size_t start = 0; start < count; start += kPiece) {
    const int n = int(std::min(kPiece, count - start));
    check(MPI_Allreduce(MPI_IN_PLACE, values + start, n, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  }
}

}  // namespace

World& join_world(const Launch& launch) {
  static World world;
  if (!launch.launched || world.joined_) return world;
  // Errors return codes rather than abort, so that they become messages.
  check(MPI_Init(nullptr, nullptr), "MPI_Init");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  world.joined_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &world.rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world.size_);
  MPI_Comm host;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world.rank_, MPI_INFO_NULL, &host),
        "MPI_Comm_split_type");
  MPI_Comm_size(host, &world.local_size_);
  MPI_Comm_free(&host);
  if (launch.ranks > world.size_)
    throw InputError(fmt::format("the launcher started {} ranks, but MPI's world has {}: netc was built against "
                                 "another MPI than the launcher's, and each rank would train alone",
                                 launch.ranks, world.size_));
  return world;
}

void World::sum(float* values, size_t count) {
  if (size_ > 1) sum_in_pieces(values, count, MPI_FLOAT);
}
void World::sum(double* values, size_t count) {
  if (size_ > 1) sum_in_pieces(values, count, MPI_DOUBLE);
}
void World::barrier() {
  if (joined_) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

std::string World::describe() const {
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(version, &length);
  std::string name(version, size_t(length));
  name = name.substr(0, name.find(','));  // "Open MPI v4.1.4"
#if defined(MPIX_CUDA_AWARE_SUPPORT)
  const bool cuda_aware = joined_ && MPIX_Query_cuda_support() == 1;
#else
  const bool cuda_aware = false;
#endif
  return name + (cuda_aware ? ", CUDA-aware" : ", not CUDA-aware");
}

void World::leave() {
  if (joined_) MPI_Finalize();
  joined_ = false;
}

}  // namespace netc
