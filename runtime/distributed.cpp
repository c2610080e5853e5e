// The launcher's environment, the same with or without MPI.
#include "distributed.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace netc {
namespace {

// The variable's value as a number >= 0, or -1 when it is unset or not one.
int environment_number(const char* name) {
  const char* text = std::getenv(name);
  if (!text || !*text) return -1;
  int value = -1;
  const auto [end, error] = std::from_chars(text, text + std::strlen(text), value);
  return error == std::errc() && *end == '\0' && value >= 0 ? value : -1;
}

}  // namespace

Launch launch_from_environment() {
  Launch l;
  // Open MPI's mpirun sets the OMPI_ variables and PMIX_RANK; PMIx launchers
  // (prterun, srun --mpi=pmix) PMIX_RANK alone; MPICH's and Slurm's PMI_SIZE.
  const int ompi_size = environment_number("OMPI_COMM_WORLD_SIZE"), pmi_size = environment_number("PMI_SIZE");
  const int pmix_rank = environment_number("PMIX_RANK");
  l.launched = ompi_size >= 0 || pmi_size >= 0 || pmix_rank >= 0;
  l.ranks = ompi_size > 0 ? ompi_size : pmi_size > 0 ? pmi_size : 1;
  const int rank = environment_number("OMPI_COMM_WORLD_RANK") >= 0 ? environment_number("OMPI_COMM_WORLD_RANK")
                   : pmix_rank >= 0                                 ? pmix_rank
                                                                    : environment_number("PMI_RANK");
  l.rank = rank > 0 ? rank : 0;
  const int local_rank = environment_number("OMPI_COMM_WORLD_LOCAL_RANK") >= 0
                             ? environment_number("OMPI_COMM_WORLD_LOCAL_RANK")
                         : environment_number("MPI_LOCALRANKID") >= 0 ? environment_number("MPI_LOCALRANKID")
                                                                      : environment_number("SLURM_LOCALID");
  l.local_rank = local_rank > 0 ? local_rank : 0;
  // A PMIx launcher says nothing of the size, but a rank above 0 means more than one.
  if (l.ranks <= l.rank) l.ranks = l.rank + 1;
  return l;
}

void quiet_unless_first_rank(const Launch& launch) {
  if (!launch.launched || launch.rank == 0) return;
  const int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null < 0) return;
  dup2(null, STDOUT_FILENO);
  dup2(null, STDERR_FILENO);
  close(null);
}

}  // namespace netc
