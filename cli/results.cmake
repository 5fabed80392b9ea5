# SPDX-License-Identifier: MIT
# results.cmake - library ukf_results: results database, statistics, report.
# Included by cli/CMakeLists.txt (and by tests/results if cli/ has no
# CMakeLists.txt yet); defines the target once.
if(TARGET ukf_results)
  return()
endif()
add_library(ukf_results STATIC
  ${CMAKE_CURRENT_LIST_DIR}/results.c
  ${CMAKE_CURRENT_LIST_DIR}/report.c
  ${CMAKE_CURRENT_LIST_DIR}/stats.c)
target_include_directories(ukf_results PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
target_link_libraries(ukf_results PUBLIC PkgConfig::SQLITE PkgConfig::GSL m)
if(TARGET ukf_core)
  # Headers only (engine.h, ukf.h): no ukf_core symbol is used.
  target_include_directories(ukf_results PUBLIC
    $<TARGET_PROPERTY:ukf_core,INTERFACE_INCLUDE_DIRECTORIES>)
endif()
