# Installation and the Debian package.
#
#   cmake --install build [--prefix /usr]        lwgate, lwgatectl, the systemd unit, the config,
#                                                bash completion, man pages, README, copyright,
#                                                the monitoring kit (share/lwgate/monitoring)
#   cmake --install build --component simulators lwm2m-core-sim and lwm2m-device-sim too
#   cpack -G DEB --config build/CPackConfig.cmake  lwgate_<version>_<arch>.deb (prefix /usr)
#
# The binaries install from their own directories (RUNTIME DESTINATION bin). The config file
# goes to /etc/lwgate/gateway.yaml when the prefix is /usr (the package), else to
# <prefix>/etc/lwgate/; an existing one is kept (in the package it is a dpkg conffile). The unit
# is written at install time so its paths name the prefix really installed to.
include(GNUInstallDirs)
# `cmake --install` and cpack install what is built; they never start a build of everything
# (the package test runs cpack from CTest after the build).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# Who answers for the package: the Maintainer field, the changelog's trailer and the copyright
# file's contact, all from this one setting (a packager sets it: cmake -DLWGATE_PACKAGE_CONTACT=).
set(LWGATE_PACKAGE_CONTACT "lwgate maintainers <lwgate@example.org>"
    CACHE STRING "The package's maintainer, as \"Name <address>\"")
if(NOT LWGATE_PACKAGE_CONTACT MATCHES "^[^<>]+ <[^<>@ ]+@[^<> ]+>$")
  message(FATAL_ERROR "LWGATE_PACKAGE_CONTACT must be \"Name <address>\": ${LWGATE_PACKAGE_CONTACT}")
endif()
string(REGEX REPLACE "^.*<([^>]+)>$" "\\1" LWGATE_PACKAGE_ADDRESS "${LWGATE_PACKAGE_CONTACT}")
foreach(file copyright changelog)
  configure_file(${PROJECT_SOURCE_DIR}/conf/debian/${file}.in ${PROJECT_BINARY_DIR}/debian/${file}
                 @ONLY)
endforeach()
install(FILES README.md ${PROJECT_BINARY_DIR}/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The monitoring kit (Prometheus alert rules, Grafana dashboard): data a Prometheus may load in
# place, so under share/ rather than the documentation, which may be left out.
install(FILES conf/monitoring/lwgate-alerts.yml conf/monitoring/lwgate-dashboard.json
              conf/monitoring/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lwgate/monitoring)
install(CODE "set(LWGATE_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set(LWGATE_BUILD_DIR \"${PROJECT_BINARY_DIR}\")
set(LWGATE_DOCDIR_REL \"${CMAKE_INSTALL_DOCDIR}\")
set(LWGATE_MANDIR_REL \"${CMAKE_INSTALL_MANDIR}\")")
install(CODE [[
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(lwgate_etc "/etc/lwgate")
else()
  set(lwgate_etc "${CMAKE_INSTALL_PREFIX}/etc/lwgate")
endif()
set(LWGATE_BINDIR "${CMAKE_INSTALL_PREFIX}/bin")
set(LWGATE_CONFIG "${lwgate_etc}/gateway.yaml")
set(LWGATE_DOCDIR "${CMAKE_INSTALL_PREFIX}/${LWGATE_DOCDIR_REL}")
configure_file("${LWGATE_SOURCE_DIR}/conf/lwgate.service.in"
               "${LWGATE_BUILD_DIR}/install/lwgate.service" @ONLY)
file(INSTALL "${LWGATE_BUILD_DIR}/install/lwgate.service"
     DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
if(EXISTS "$ENV{DESTDIR}${LWGATE_CONFIG}")
  message(STATUS "Keeping: $ENV{DESTDIR}${LWGATE_CONFIG}")
else()
  file(INSTALL "${LWGATE_SOURCE_DIR}/conf/gateway.yaml" DESTINATION "${lwgate_etc}"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
]])
# The man pages (man/) and the Debian changelog, compressed as Debian installs them: gzip -9n
# leaves the name and time stamp out, so the same sources make the same package.
install(CODE [[
file(MAKE_DIRECTORY "${LWGATE_BUILD_DIR}/install")
foreach(page lwgate.8 lwgatectl.1 lwgate.yaml.5)
  string(REGEX MATCH "[0-9]$" section "${page}")
  execute_process(COMMAND gzip -9n -c "${LWGATE_SOURCE_DIR}/man/${page}"
                  OUTPUT_FILE "${LWGATE_BUILD_DIR}/install/${page}.gz" COMMAND_ERROR_IS_FATAL ANY)
  file(INSTALL "${LWGATE_BUILD_DIR}/install/${page}.gz"
       DESTINATION "${CMAKE_INSTALL_PREFIX}/${LWGATE_MANDIR_REL}/man${section}")
endforeach()
execute_process(COMMAND gzip -9n -c "${LWGATE_BUILD_DIR}/debian/changelog"
                OUTPUT_FILE "${LWGATE_BUILD_DIR}/install/changelog.Debian.gz"
                COMMAND_ERROR_IS_FATAL ANY)
file(INSTALL "${LWGATE_BUILD_DIR}/install/changelog.Debian.gz"
     DESTINATION "${CMAKE_INSTALL_PREFIX}/${LWGATE_DOCDIR_REL}")
]])

# ---- Debian package ----------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lwgate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${LWGATE_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "CoAP over TCP/TLS (RFC 8323) gateway for LwM2M devices")
set(CPACK_PACKAGE_DESCRIPTION
    "lwgate holds LwM2M device connections over CoAP-over-TCP/TLS, keeps them alive with CoAP \
Ping/Pong, detects half-open connections, and bridges every device to a UDP/DTLS LwM2M server. \
lwgatectl shows connection health over the admin API.")
# Absolute destinations (/etc/lwgate) land in the staging directory, not on this machine.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# The Debian revision: lwgate_0.1.0-1_amd64.deb. conf/debian/changelog.in's first entry names the
# same version (the package test checks it).
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: computed from the binaries' shared libraries (dpkg-shlibdeps, from dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")  # postinst: the system account lwgate
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "bash-completion")
configure_file(${PROJECT_SOURCE_DIR}/conf/debian/conffiles
               ${PROJECT_BINARY_DIR}/debian/conffiles COPYONLY)
foreach(script postinst prerm postrm)
  configure_file(${PROJECT_SOURCE_DIR}/conf/debian/${script} ${PROJECT_BINARY_DIR}/debian/${script}
                 COPYONLY FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                 GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_BINARY_DIR}/debian/conffiles;${PROJECT_BINARY_DIR}/debian/postinst;\
${PROJECT_BINARY_DIR}/debian/prerm;${PROJECT_BINARY_DIR}/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# /etc/lwgate 0750 and gateway.yaml 0640 in the package (cmake/cpack_etc_modes.cmake).
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/cpack_etc_modes.cmake)
include(CPack)
