# Helpers that keep each folder's CMakeLists.txt to a few lines per target.
#
# rto_library(NAME SRCS ... DEPS ... [TORCH])
#   A static library. TORCH marks units that include ATen: they link LibTorch and reuse one
#   precompiled header, which cuts a torch unit's compile from ~40 s to ~15 s here.
# rto_test(NAME SRCS ... DEPS ... [TORCH])
#   A GoogleTest executable registered with ctest (one ctest entry per binary).

add_library(rto_torch_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cc)
target_link_libraries(rto_torch_pch PUBLIC rto_libtorch)
target_precompile_headers(rto_torch_pch PRIVATE <ATen/ATen.h>)
# gRPC's targets compile with -pthread, which defines _REENTRANT, and GCC refuses a precompiled
# header built without it; every torch unit compiles with -pthread so that one header fits all.
target_compile_options(rto_torch_pch PRIVATE -pthread)

function(_rto_common_setup target)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  # Designated initializers leave defaulted members out on purpose.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
endfunction()

# A torch unit's target uses the one precompiled header (and its -pthread, see above).
function(rto_reuse_torch_pch target)
  target_precompile_headers(${target} REUSE_FROM rto_torch_pch)
  target_compile_options(${target} PRIVATE -pthread)
endfunction()

function(_rto_torch_setup target)
  target_link_libraries(${target} PUBLIC rto_libtorch)
  rto_reuse_torch_pch(${target})
  # LibTorch's headers trip these; our own code is still checked by -Wall -Wextra.
  target_compile_options(${target} PRIVATE -Wno-unused-parameter -Wno-sign-compare)
endfunction()

function(rto_library name)
  cmake_parse_arguments(ARG "TORCH" "" "SRCS;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  _rto_common_setup(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  if(ARG_TORCH)
    _rto_torch_setup(${name})
  endif()
endfunction()

function(rto_test name)
  cmake_parse_arguments(ARG "TORCH" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  _rto_common_setup(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  if(ARG_TORCH)
    _rto_torch_setup(${name})
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "RTO_SOURCE_DIR=${PROJECT_SOURCE_DIR};RTO_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# rto_role_executable(ROLE DEPS ...)
#   rto-ROLE from services/ROLE/main.cc, next to `rto` (where `rto launch` finds it).
function(rto_role_executable role)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  add_executable(rto-${role} main.cc)
  _rto_common_setup(rto-${role})
  _rto_torch_setup(rto-${role})
  target_link_libraries(rto-${role} PRIVATE rto_service_main ${ARG_DEPS})
  set_target_properties(rto-${role} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/services/rto)
endfunction()
