# natten_add_metallib(<target> OUTPUT <file.metallib> SOURCES <a.metal>... INCLUDES <dir>...)
#
# Builds every shader into one .metallib at build time with Xcode's toolchain: `xcrun metal` per
# source (-> .air), then `xcrun metallib`. Offline compilation catches shader errors when the
# project builds (not on a user's first call) and keeps compile time out of the first benchmark.
# Fast math is off: the parity tests compare against float64 references and the kernels rely on
# IEEE exp/log (the online softmax starts from a finite -1e30, not -inf, either way).
# Needs full Xcode (the command-line tools lack the Metal compiler).
function(natten_add_metallib target)
  cmake_parse_arguments(ARG "" "OUTPUT" "SOURCES;INCLUDES" ${ARGN})
  find_program(NATTEN_XCRUN xcrun)
  if(NOT NATTEN_XCRUN)
    message(FATAL_ERROR "NATTEN_METAL=ON needs xcrun (Xcode) to build ${ARG_OUTPUT}")
  endif()
  set(include_flags)
  foreach(dir IN LISTS ARG_INCLUDES)
    list(APPEND include_flags -I${dir})
  endforeach()
  set(air_files)
  foreach(src IN LISTS ARG_SOURCES)
    get_filename_component(name ${src} NAME_WE)
    set(air ${CMAKE_CURRENT_BINARY_DIR}/metal/${name}.air)
    add_custom_command(OUTPUT ${air}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/metal
      COMMAND ${NATTEN_XCRUN} -sdk macosx metal -std=metal3.0 -fno-fast-math -Wall -Werror ${include_flags}
              -MMD -MF ${air}.d -c ${src} -o ${air}
      DEPENDS ${src}
      DEPFILE ${air}.d
      COMMENT "Compiling Metal shader ${name}.metal" VERBATIM)
    list(APPEND air_files ${air})
  endforeach()
  add_custom_command(OUTPUT ${ARG_OUTPUT}
    COMMAND ${NATTEN_XCRUN} -sdk macosx metallib ${air_files} -o ${ARG_OUTPUT}
    DEPENDS ${air_files}
    COMMENT "Linking ${ARG_OUTPUT}" VERBATIM)
  add_custom_target(${target} ALL DEPENDS ${ARG_OUTPUT})
endfunction()
