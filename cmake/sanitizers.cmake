# Sanitized builds, each in a folder of its own (see the README's "Fuzzing and
# sanitizers"): every target there is instrumented. Halide-generated pipelines
# and Debian's libraries (libHalide, yaml-cpp, zlib) are not, and need not be.
option(NETC_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer (tools/sanitize.sh)" OFF)
option(NETC_FUZZ "Build the libFuzzer harnesses of tests/fuzz, sanitized as NETC_SANITIZE (clang; tools/fuzz.sh)" OFF)

if(NETC_SANITIZE OR NETC_FUZZ)
  # Undefined behaviour stops the program, as a memory error does, so that a
  # test or a fuzzer cannot run past it.
  set(NETC_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${NETC_SANITIZER_FLAGS})
  add_link_options(${NETC_SANITIZER_FLAGS})
endif()

if(NETC_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "NETC_FUZZ needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Coverage feedback from all of netc's code; the harnesses add libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
