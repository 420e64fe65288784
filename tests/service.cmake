# Service tests: unit tests of common/ and server/ (no database, no network) and
# integration tests that start the real lethe-server against a real PostgreSQL
# (LETHE_TEST_DATABASE_URL, or a private cluster under the build tree that the tests
# start with scripts/pg-cluster) and talk real gRPC on 127.0.0.1.

file(GLOB SERVICE_UNIT_TEST_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/unit/service/*_test.cc)
add_executable(service_tests ${SERVICE_UNIT_TEST_SOURCES})
target_compile_options(service_tests PRIVATE ${LETHE_WARNINGS})
target_link_libraries(service_tests PRIVATE lethe_server_lib GTest::gtest GTest::gtest_main)
gtest_discover_tests(service_tests DISCOVERY_TIMEOUT 30 PROPERTIES LABELS service)

find_program(LETHE_PROMTOOL promtool)
if(NOT LETHE_PROMTOOL)
  set(LETHE_PROMTOOL "")
endif()

file(GLOB SERVICE_INTEGRATION_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/integration/service_*_test.cc)
add_executable(service_integration_tests
  ${SERVICE_INTEGRATION_SOURCES}
  ${CMAKE_CURRENT_SOURCE_DIR}/integration/service_harness.cc
)
target_compile_options(service_integration_tests PRIVATE ${LETHE_WARNINGS})
target_include_directories(service_integration_tests PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
target_compile_definitions(service_integration_tests PRIVATE
  LETHE_SERVER_BINARY="$<TARGET_FILE:lethe-server>"
  LETHE_LETHECTL_BINARY="$<TARGET_FILE:lethectl>"
  LETHE_PG_CLUSTER_SCRIPT="${PROJECT_SOURCE_DIR}/scripts/pg-cluster"
  LETHE_TEST_STATE_DIR="${CMAKE_BINARY_DIR}/test-state"
  LETHE_PROMTOOL="${LETHE_PROMTOOL}")
target_link_libraries(service_integration_tests PRIVATE
  lethe_server_lib GTest::gtest GTest::gtest_main)
add_dependencies(service_integration_tests lethe-server lethectl)
# Starting a database and a server costs ~3 s, so the ServiceTest suite shares one per
# process; the other suites (auth matrix with revocations, audit tampering, migrations,
# process kills) start their own. Two entries so `ctest -j2` uses both cores.
add_test(NAME service_integration_shared
         COMMAND service_integration_tests --gtest_filter=ServiceTest.*)
add_test(NAME service_integration_isolated
         COMMAND service_integration_tests --gtest_filter=-ServiceTest.*)
set_tests_properties(service_integration_shared service_integration_isolated PROPERTIES
                     LABELS "service;integration" TIMEOUT 300)
