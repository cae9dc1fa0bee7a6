# Run at install time (cmake --install, cpack): writes the configuration and the systemd
# unit for the prefix being installed to, then installs them. Set by the caller:
# SWMLD_SOURCE_DIR, SWMLD_WORK_DIR (a scratch folder in the build tree).

if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(conf_dir /etc/swmld)
  set(unit_dir /lib/systemd/system)
else()
  set(conf_dir ${CMAKE_INSTALL_PREFIX}/etc/swmld)
  set(unit_dir ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
set(bin ${CMAKE_INSTALL_PREFIX}/bin/swmld)
set(examples ${CMAKE_INSTALL_PREFIX}/share/swmld/examples)
set(out ${SWMLD_WORK_DIR}/install)
file(MAKE_DIRECTORY ${out})

# config/swmld.yaml with its example paths made absolute: the service runs in /.
file(READ ${SWMLD_SOURCE_DIR}/config/swmld.yaml cfg)
string(REPLACE "# `swmld serve --config config/swmld.yaml` (what `make run` starts)."
  "# Installed as ${conf_dir}/swmld.yaml, the configuration swmld.service runs; its\n# example routes answer on 127.0.0.1 only. `man 8 swmld`; /usr/share/doc/swmld."
  cfg "${cfg}")
string(REPLACE "swml: examples/" "swml: ${examples}/" cfg "${cfg}")
string(REPLACE "root: examples/" "root: ${examples}/" cfg "${cfg}")
if(cfg MATCHES "(swml|root): examples/" OR cfg MATCHES "config/swmld.yaml")
  message(FATAL_ERROR "config/swmld.yaml changed shape: update the path rewriting in cmake/SwmldInstallFiles.cmake")
endif()
file(WRITE ${out}/swmld.yaml "${cfg}")

file(READ ${SWMLD_SOURCE_DIR}/config/swmld.service unit)
string(REPLACE "/usr/bin/swmld " "${bin} " unit "${unit}")
string(REPLACE "/etc/swmld/swmld.yaml" "${conf_dir}/swmld.yaml" unit "${unit}")
file(WRITE ${out}/swmld.service "${unit}")

file(INSTALL DESTINATION ${conf_dir} TYPE FILE FILES ${out}/swmld.yaml)
file(INSTALL DESTINATION ${unit_dir} TYPE FILE FILES ${out}/swmld.service)
