// Data-parallel training's one contact with MPI (docs/distributed.md): the
// ranks of a job that a launcher (mpirun) started, and the few collective
// operations training needs. Built on MPI (distributed_mpi.cpp) when CMake
// finds it and NETC_MPI is on, else as a world of one process
// (distributed_single.cpp); nothing else in netc includes mpi.h.
#pragma once

#include <cstddef>
#include <string>

namespace netc {

// What a launcher's environment says, read without starting MPI (MPI_Init
// costs 0.3 s and needs Open MPI's daemon, so it runs only under a launcher).
struct Launch {
  bool launched = false;  // OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE is set
  int ranks = 1;          // how many ranks it reports (1 when it does not say)
  int rank = 0;           // this process's rank as it reports it
  int local_rank = 0;     // its rank among the ranks on this host
};
Launch launch_from_environment();

// Under a launcher, ranks above 0 write their stdout and stderr to
// /dev/null: rank 0 alone prints, and a mistake every rank finds is reported
// once. (A rank that fails alone still ends the job, which the launcher
// reports.)
void quiet_unless_first_rank(const Launch& launch);

// The ranks of this job. Every rank calls the collective operations in the
// same order; a rank that dies makes the launcher end the job.
class World {
 public:
  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_size() const { return local_size_; }  // ranks on this host
  // In place, the element-wise sum over the ranks, the same bits on every
  // rank (MPI_Allreduce with MPI_SUM).
  void sum(float* values, size_t count);
  void sum(double* values, size_t count);
  void barrier();
  // The MPI library and whether it takes device pointers ("Open MPI v4.1.4,
  // not CUDA-aware"), or that there is none.
  std::string describe() const;
  // Ends MPI after a run that succeeded or stopped cleanly on every rank
  // (MPI_Finalize). A rank that exits without it, on an error, makes the
  // launcher stop the whole job rather than wait for it.
  void leave();

 private:
  friend World& join_world(const Launch& launch);
  int rank_ = 0, size_ = 1, local_size_ = 1;
  bool joined_ = false;
};

// The world of this process: MPI's when `launch` says a launcher started it,
// else this process alone. InputError when the launcher reports more ranks
// than MPI's world has (netc built without MPI, or against another MPI
// than the launcher's): otherwise each copy would train alone.
World& join_world(const Launch& launch);

}  // namespace netc
