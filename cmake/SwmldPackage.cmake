# Install rules and the Debian package (CPack): `make package` at the top level, or
# `cpack -G DEB` in a build folder, leaves swmld_<version>_<arch>.deb there.
#
# Layout under the install prefix (the package's is always /usr): bin/swmld,
# share/swmld/examples, share/man/man8/swmld.8.gz, share/doc/swmld; and beside it the
# configuration and the systemd unit, at /etc/swmld/swmld.yaml and
# /lib/systemd/system/swmld.service for the /usr prefix (<prefix>/etc/swmld and
# <prefix>/lib/systemd/system for any other). Those two name the installed binary, examples
# and configuration, so cmake/SwmldInstallFiles.cmake writes them at install time, when the
# prefix is known (`cmake --install build --prefix DIR` and cpack choose it then).

set(swmld_pkg_dir ${CMAKE_BINARY_DIR}/package)

# `make install` and cpack install what is built, without building everything first (the
# test suite too): the top-level `make package` builds, then packages, and the package test
# packages the binary under test in seconds.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(SWMLD_PACKAGE_MAINTAINER "swmld maintainers <maintainers@users.noreply.r-seed-9f4157fb.example>"
  CACHE STRING "Maintainer field of the Debian package")

# The manual page, compressed as Debian policy asks (-n: no name or time stamp inside).
add_custom_command(OUTPUT ${swmld_pkg_dir}/swmld.8.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${swmld_pkg_dir}
  COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/docs/man/swmld.8 > ${swmld_pkg_dir}/swmld.8.gz
  DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/swmld.8
  COMMENT "Compressing the swmld(8) manual page")
add_custom_target(swmld_man ALL DEPENDS ${swmld_pkg_dir}/swmld.8.gz)

install(TARGETS swmld RUNTIME DESTINATION bin)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION share/swmld/examples)
install(FILES ${swmld_pkg_dir}/swmld.8.gz DESTINATION share/man/man8)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION share/doc/swmld RENAME copyright)
# A one-entry Debian changelog (policy wants one; the project's history is its git log).
# Dated at configure time, or from SOURCE_DATE_EPOCH when set.
string(TIMESTAMP swmld_changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${swmld_pkg_dir}/changelog "swmld (${PROJECT_VERSION}) stable; urgency=medium

  * Built with CPack from the swmld source tree; its history is the git log.

 -- ${SWMLD_PACKAGE_MAINTAINER}  ${swmld_changelog_date}
")
add_custom_command(OUTPUT ${swmld_pkg_dir}/changelog.gz
  COMMAND gzip -9n -c ${swmld_pkg_dir}/changelog > ${swmld_pkg_dir}/changelog.gz
  DEPENDS ${swmld_pkg_dir}/changelog)
add_custom_target(swmld_changelog ALL DEPENDS ${swmld_pkg_dir}/changelog.gz)
install(FILES ${swmld_pkg_dir}/changelog.gz DESTINATION share/doc/swmld)
install(FILES ${PROJECT_SOURCE_DIR}/THIRD-PARTY.md ${PROJECT_SOURCE_DIR}/README.md
  ${PROJECT_SOURCE_DIR}/docs/configuration.md ${PROJECT_SOURCE_DIR}/docs/operations.md
  ${PROJECT_SOURCE_DIR}/docs/http.md ${PROJECT_SOURCE_DIR}/docs/swml-coverage.md
  DESTINATION share/doc/swmld)
install(CODE "set(SWMLD_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set(SWMLD_WORK_DIR \"${swmld_pkg_dir}\")
include(\"${PROJECT_SOURCE_DIR}/cmake/SwmldInstallFiles.cmake\")")

# The Debian package. Depends: the runtime libraries the binary links, as dpkg-shlibdeps
# (dpkg-dev) finds them, plus adduser for the postinst. CPACK_SET_DESTDIR: the install runs
# with the real prefix (/usr) and DESTDIR pointing at the staging folder, so the files
# written at install time name /usr and /etc, not the staging folder.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME swmld)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${SWMLD_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "standalone SWML execution server")
# The synopsis comes from CPACK_PACKAGE_DESCRIPTION_SUMMARY, this is the long description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "swmld runs SWML (SignalWire Markup Language) documents for SIP
calls: it answers calls from SIP trunks, plays sounds and speech,
collects digits, transfers with SIP REFER and posts status callbacks.
`swmld check` validates documents and `swmld simulate` runs them on a
simulated call.
.
The package installs the swmld.service systemd unit without enabling it.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
