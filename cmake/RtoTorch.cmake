# LibTorch: the C++ library inside PyPI's `torch` wheel, on CPU and GPU alike.
#
#   default         RTO_TORCH_DIR (the wheel's `torch` folder; scripts/install-deps.sh puts the
#                   pinned wheel, without its CUDA dependencies, in .deps/). Links torch_cpu and
#                   c10 only, so no CUDA library but the runtime stub libtorch_cpu.so names
#                   (libcudart, libcupti; installed beside it) is ever loaded.
#   -DRTO_CUDA=ON   a CUDA LibTorch through CMAKE_PREFIX_PATH (a `pip install torch` with its
#                   nvidia-* dependencies, see scripts/build.sh --cuda): also torch_cuda, c10_cuda
#                   and NCCL, for weights on the GPU and ProcessGroupNCCL.
#
# Defines the interface target rto_libtorch and RTO_HAS_CUDA.
#
# The wheel ships its own google/protobuf headers (another protobuf version) in include/: a unit
# that sees both them and Debian's would compile gRPC code against the wrong headers. So the
# include path is a folder of links to every entry of the wheel's include/ except google/.

option(RTO_CUDA "Link LibTorch's CUDA libraries (a CUDA LibTorch found through CMAKE_PREFIX_PATH)" OFF)
set(RTO_TORCH_DIR "${PROJECT_SOURCE_DIR}/.deps/libtorch-2.15.0/torch" CACHE PATH
  "The torch folder of a PyPI torch wheel (default build)")

function(_rto_torch_include_without_protobuf torch_include out_var)
  set(shadow "${PROJECT_BINARY_DIR}/libtorch_include")
  file(REMOVE_RECURSE "${shadow}")
  file(MAKE_DIRECTORY "${shadow}")
  file(GLOB entries RELATIVE "${torch_include}" "${torch_include}/*")
  foreach(entry ${entries})
    if(NOT entry STREQUAL "google")
      file(CREATE_LINK "${torch_include}/${entry}" "${shadow}/${entry}" SYMBOLIC)
    endif()
  endforeach()
  set(${out_var} "${shadow}" PARENT_SCOPE)
endfunction()

add_library(rto_libtorch INTERFACE)
set(RTO_HAS_CUDA OFF)
if(RTO_CUDA)
  # A CUDA LibTorch's config probes the local GPU for its target architectures; naming them
  # (A100, H100/H200) lets the build run on machines without one.
  if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
    set(ENV{TORCH_CUDA_ARCH_LIST} "8.0;9.0")
  endif()
  set(CMAKE_CUDA_STANDARD 17)
  find_package(Torch REQUIRED)
  if(NOT TARGET torch_cuda)
    message(FATAL_ERROR "RTO_CUDA=ON but the LibTorch at ${TORCH_INSTALL_PREFIX} has no torch_cuda")
  endif()
  set(RTO_HAS_CUDA ON)
  set(torch_root "${TORCH_INSTALL_PREFIX}")
  # NCCL: the one this LibTorch was built against (the wheel's nvidia/nccl), else the toolkit's.
  find_library(RTO_NCCL_LIBRARY NAMES nccl libnccl.so.2 NAMES_PER_DIR
    HINTS ${TORCH_INSTALL_PREFIX}/../nvidia/nccl/lib $ENV{CUDA_HOME}/lib64 /usr/local/cuda/lib64
    NO_DEFAULT_PATH)
  if(NOT RTO_NCCL_LIBRARY)
    message(FATAL_ERROR "CUDA LibTorch found but no NCCL library next to it or in the CUDA toolkit")
  endif()
  # nccl.h (ProcessGroupNCCL.hpp includes it): the header of that library.
  get_filename_component(rto_nccl_lib_dir "${RTO_NCCL_LIBRARY}" DIRECTORY)
  find_path(RTO_NCCL_INCLUDE_DIR nccl.h HINTS ${rto_nccl_lib_dir}/../include $ENV{CUDA_HOME}/include
    /usr/local/cuda/include NO_DEFAULT_PATH)
  if(NOT RTO_NCCL_INCLUDE_DIR)
    message(FATAL_ERROR "no nccl.h next to ${RTO_NCCL_LIBRARY} or in the CUDA toolkit")
  endif()
  # Torch's targets carry its include/ (with the bundled protobuf headers): take their link
  # interface and definitions, and give the include path below instead.
  foreach(t torch torch_cpu torch_cuda c10 c10_cuda)
    if(TARGET ${t})
      set_property(TARGET ${t} PROPERTY INTERFACE_INCLUDE_DIRECTORIES "")
      set_property(TARGET ${t} PROPERTY INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "")
    endif()
  endforeach()
  target_link_libraries(rto_libtorch INTERFACE torch ${RTO_NCCL_LIBRARY})
  # cuda_runtime.h and friends, which ProcessGroupNCCL.hpp includes (LibTorch's config has usually
  # found the toolkit already; finding it twice fails in CMake 3.25 when the toolkit is the
  # wheel's nvidia/cu13 plus PyPI's nvcc, as in docker/Dockerfile.cuda).
  if(NOT CUDAToolkit_FOUND)
    find_package(CUDAToolkit REQUIRED)
  endif()
  target_include_directories(rto_libtorch SYSTEM INTERFACE ${CUDAToolkit_INCLUDE_DIRS} ${RTO_NCCL_INCLUDE_DIR})
  message(STATUS "rto: NCCL ${RTO_NCCL_LIBRARY}")
else()
  set(torch_root "${RTO_TORCH_DIR}")
  foreach(f lib/libtorch_cpu.so lib/libc10.so include/ATen/ATen.h)
    if(NOT EXISTS "${torch_root}/${f}")
      message(FATAL_ERROR "No LibTorch at RTO_TORCH_DIR=${torch_root} (missing ${f}): run "
        "scripts/install-deps.sh, or point RTO_TORCH_DIR at the torch folder of a PyPI torch wheel")
    endif()
  endforeach()
  # What the wheel's torch_cpu target declares (share/cmake/Caffe2/Caffe2Targets.cmake).
  target_compile_definitions(rto_libtorch INTERFACE USE_DISTRIBUTED USE_C10D_GLOO _GLIBCXX_USE_CXX11_ABI=1)
  target_link_libraries(rto_libtorch INTERFACE "${torch_root}/lib/libtorch_cpu.so" "${torch_root}/lib/libc10.so")
endif()

_rto_torch_include_without_protobuf("${torch_root}/include" torch_include)
target_include_directories(rto_libtorch SYSTEM INTERFACE "${torch_include}"
  "${torch_include}/torch/csrc/api/include")

message(STATUS "rto: LibTorch at ${torch_root}, CUDA: ${RTO_HAS_CUDA}")
