# Helpers shared by every folder's CMakeLists.txt.

# Warnings are errors on our own code, never on generated or third-party code.
function(l4d2_warnings target)
  # Designated initializers that leave defaulted fields out are idiomatic C++20; GCC 12 warns.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-unused-parameter
                         -Wno-missing-field-initializers)
endfunction()

# l4d2_library(NAME SRCS ... DEPS ...): one static library per folder, includes rooted at the
# repository top so every include reads like its path ("agent/os/host_probe.h").
function(l4d2_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  l4d2_warnings(${name})
endfunction()

# l4d2_product_program(TARGET DESTINATION dir): TARGET is a program the product runs. The one
# list of them (the global property L4D2_PRODUCT_TARGETS) is what `cmake --install` installs,
# what the `product` target builds (deploy/dev/up) and what the packages ship, so a new helper
# cannot be forgotten in one of those places.
# Its package (cmake/Packaging.cmake) is the top folder it is built in: agent, controller or ctl.
function(l4d2_product_program name destination)
  file(RELATIVE_PATH folder ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  string(REGEX REPLACE "/.*" "" component "${folder}")
  install(TARGETS ${name} RUNTIME DESTINATION ${destination} COMPONENT ${component})
  set_property(GLOBAL APPEND PROPERTY L4D2_PRODUCT_TARGETS ${name})
endfunction()

# l4d2_binary(NAME SRCS ... DEPS ... [DESTINATION dir]): a thin program; with DESTINATION, one
# of the product's programs (l4d2_product_program).
function(l4d2_binary name)
  cmake_parse_arguments(ARG "" "DESTINATION" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  l4d2_warnings(${name})
  if(ARG_DESTINATION)
    l4d2_product_program(${name} ${ARG_DESTINATION})
  endif()
endfunction()
