# Fault (chaos) tests, label `chaos`: a worker killed at chosen phases of its jobs,
# PostgreSQL stopped and restarted under submit load, lethe-server killed under submit
# load (tests/chaos/*.sh, real processes on loopback, short by default and longer with
# --long or LETHE_CHAOS_LONG=1), and model store faults during publishing (a fault-injecting
# file system, model_store_faults_test.cc). Each script prints a one-line JSON summary.
# Included by tests/CMakeLists.txt unless LETHE_ENGINE_ONLY.

# In-process faults against the test PostgreSQL (LETHE_TEST_DATABASE_URL): the model store
# on a failing file system during publishing, and database sessions ended under the pool.
if(TARGET worker_test_support)
  file(GLOB CHAOS_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/chaos/*_test.cc)
  add_executable(chaos_fault_tests ${CHAOS_TEST_SOURCES})
  target_compile_options(chaos_fault_tests PRIVATE ${LETHE_WARNINGS})
  target_link_libraries(chaos_fault_tests PRIVATE lethe_worker_core worker_test_support
                                                  GTest::gtest GTest::gtest_main)
  add_test(NAME chaos_in_process COMMAND chaos_fault_tests)
  set_tests_properties(chaos_in_process PROPERTIES LABELS "chaos;integration" TIMEOUT 300)
endif()

if(TARGET lethe-server AND TARGET lethe-worker AND TARGET lethectl AND TARGET lethe-engine)
  set(LETHE_CHAOS_ARGS --server $<TARGET_FILE:lethe-server> --worker $<TARGET_FILE:lethe-worker>
      --lethectl $<TARGET_FILE:lethectl> --engine $<TARGET_FILE:lethe-engine>
      --assets ${CMAKE_BINARY_DIR})
  foreach(scenario worker_kill postgres_restart server_kill)
    add_test(NAME chaos_${scenario}
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/chaos/${scenario}.sh ${LETHE_CHAOS_ARGS})
    set_tests_properties(chaos_${scenario} PROPERTIES LABELS "chaos;integration" TIMEOUT 600
                         ENVIRONMENT "LETHE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  endforeach()
endif()
