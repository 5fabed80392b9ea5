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
# ukf_start_name() (the start-kind names stored in the database) is core's.
target_link_libraries(ukf_results PUBLIC ukf_core)
