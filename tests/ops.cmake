# Operations checks (tests/ops/): Prometheus configuration and alert rules, docker-compose
# files, the Dockerfile's runtime images, the operator guide's configuration reference, and
# a live /metrics scrape of lethe-server and lethe-worker. No container engine is needed:
# promtool and Debian's docker-compose validate offline (scripts/setup installs both).
# Included by tests/CMakeLists.txt unless LETHE_ENGINE_ONLY.

set(LETHE_OPS_DIR ${CMAKE_CURRENT_SOURCE_DIR}/ops)
set(LETHE_OPS_ENV "LETHE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")

add_test(NAME ops_prometheus COMMAND bash ${LETHE_OPS_DIR}/check_prometheus.sh)
add_test(NAME ops_compose COMMAND bash ${LETHE_OPS_DIR}/check_compose.sh)
add_test(NAME ops_plot_results COMMAND bash ${LETHE_OPS_DIR}/check_plot_results.sh)

# With the binaries built, the guide's defaults are checked against their --help.
set(LETHE_OPS_HELP)
foreach(target lethe-server lethe-worker)
  if(TARGET ${target})
    list(APPEND LETHE_OPS_HELP "${target}=$<TARGET_FILE:${target}>")
  endif()
endforeach()
add_test(NAME ops_docs COMMAND bash ${LETHE_OPS_DIR}/check_docs.sh ${LETHE_OPS_HELP})

# The Dockerfile check also verifies that the runtime package lists cover every shared
# library of the binaries built here.
set(LETHE_OPS_BINARIES)
foreach(target lethe-server lethectl lethe-worker lethe-engine)
  if(TARGET ${target})
    list(APPEND LETHE_OPS_BINARIES "${target}=$<TARGET_FILE:${target}>")
  endif()
endforeach()
add_test(NAME ops_dockerfile COMMAND bash ${LETHE_OPS_DIR}/check_dockerfile.sh ${LETHE_OPS_BINARIES})

set_tests_properties(ops_prometheus ops_compose ops_plot_results ops_docs ops_dockerfile
                     PROPERTIES LABELS ops ENVIRONMENT "${LETHE_OPS_ENV}" TIMEOUT 300)

# Live scrape against LETHE_TEST_DATABASE_URL (a database of its own on that server).
if(TARGET lethe-server)
  set(LETHE_OPS_LIVE_ARGS --server $<TARGET_FILE:lethe-server>)
  if(TARGET lethectl)
    list(APPEND LETHE_OPS_LIVE_ARGS --lethectl $<TARGET_FILE:lethectl>)
  endif()
  if(TARGET lethe-worker AND TARGET lethe-engine)
    list(APPEND LETHE_OPS_LIVE_ARGS --worker $<TARGET_FILE:lethe-worker>
         --engine $<TARGET_FILE:lethe-engine>)
  endif()
  add_test(NAME ops_metrics_live COMMAND bash ${LETHE_OPS_DIR}/check_metrics_live.sh
           ${LETHE_OPS_LIVE_ARGS})
  set_tests_properties(ops_metrics_live PROPERTIES LABELS "ops;integration"
                       ENVIRONMENT "${LETHE_OPS_ENV}" TIMEOUT 300)
endif()
