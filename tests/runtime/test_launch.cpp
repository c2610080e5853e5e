// What a launcher's environment says (launch_from_environment): Open MPI's,
// PMIx's, MPICH's and Slurm's variables, and values that are not numbers.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <string>

#include "distributed.h"

namespace {

const char* const kVariables[] = {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK",
                                  "PMIX_RANK",            "PMI_SIZE",             "PMI_RANK",
                                  "MPI_LOCALRANKID",      "SLURM_LOCALID"};

// The launch seen with exactly `variables` of kVariables set; the test's own
// environment is restored after.
netc::Launch launch_with(const std::map<std::string, std::string>& variables) {
  std::map<std::string, std::string> saved;
  for (const char* name : kVariables) {
    if (const char* value = std::getenv(name)) saved[name] = value;
    unsetenv(name);
  }
  for (const auto& [name, value] : variables) setenv(name.c_str(), value.c_str(), 1);
  const netc::Launch launch = netc::launch_from_environment();
  for (const char* name : kVariables) unsetenv(name);
  for (const auto& [name, value] : saved) setenv(name.c_str(), value.c_str(), 1);
  return launch;
}

}  // namespace

TEST_CASE("launch: no launcher variables is one process, not launched") {
  const netc::Launch l = launch_with({});
  CHECK_FALSE(l.launched);
  CHECK(l.ranks == 1);
  CHECK(l.rank == 0);
  CHECK(l.local_rank == 0);
}

TEST_CASE("launch: Open MPI's variables give the size, the rank and the rank on the host") {
  const netc::Launch l =
      launch_with({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                   {"PMIX_RANK", "3"}});
  CHECK(l.launched);
  CHECK(l.ranks == 4);
  CHECK(l.rank == 3);
  CHECK(l.local_rank == 1);
}

TEST_CASE("launch: PMIx alone says a rank, which bounds the size from below") {
  const netc::Launch l = launch_with({{"PMIX_RANK", "2"}});
  CHECK(l.launched);
  CHECK(l.rank == 2);
  CHECK(l.ranks == 3);
}

TEST_CASE("launch: MPICH's and Slurm's variables") {
  netc::Launch l = launch_with({{"PMI_SIZE", "2"}, {"PMI_RANK", "1"}, {"MPI_LOCALRANKID", "1"}});
  CHECK(l.ranks == 2);
  CHECK(l.rank == 1);
  CHECK(l.local_rank == 1);
  l = launch_with({{"PMI_SIZE", "8"}, {"PMI_RANK", "5"}, {"SLURM_LOCALID", "1"}});
  CHECK(l.local_rank == 1);
}

TEST_CASE("launch: values that are not counts count as unset") {
  const netc::Launch l = launch_with(
      {{"OMPI_COMM_WORLD_SIZE", "2x"}, {"OMPI_COMM_WORLD_RANK", "-1"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "99999999999"}});
  CHECK(l.launched == false);
  CHECK(l.ranks == 1);
  CHECK(l.rank == 0);
  CHECK(l.local_rank == 0);
}
