# SPDX-License-Identifier: GPL-2.0-or-later
#
# Packages (included from CMakeLists.txt after the mtls target):
#
#   cpack -G DEB                          wireshark-plugin-mtls_<version>_<arch>.deb
#   cpack --config CPackSourceConfig.cmake  wireshark-plugin-mtls-<version>-Source.tar.gz
#
# The .deb installs mtls.so into the system plugin folder of the Wireshark it was
# built against (Wireshark_PLUGIN_INSTALL_DIR/epan, e.g.
# /usr/lib/x86_64-linux-gnu/wireshark/plugins/4.0/epan) and depends on the library
# package that holds that Wireshark's libwireshark (libwireshark16 for 4.0 on
# Debian 12): a plugin loads only into the MAJOR.MINOR it was built for, and
# Debian renames that package with each ABI. The name is read from dpkg, not written
# here per suite. dpkg-shlibdeps adds the other libraries (glib, GnuTLS, libc).
#
# The package's files come from the install component "deb", which a plain
# `cmake --install` leaves out (it installs the personal or system copy chosen by
# MTLS_INSTALL_SYSTEM).

# Wireshark_PLUGIN_INSTALL_DIR is absolute (<prefix>/lib/<triplet>/wireshark/plugins/X.Y);
# the package holds it relative to its install prefix.
set(MTLS_DEB_PREFIX "${Wireshark_INSTALL_PREFIX}")
file(RELATIVE_PATH MTLS_DEB_PLUGIN_DIR "${MTLS_DEB_PREFIX}" "${Wireshark_PLUGIN_INSTALL_DIR}/epan")
if(MTLS_DEB_PLUGIN_DIR MATCHES "^\\.\\./")
  message(FATAL_ERROR "Wireshark_PLUGIN_INSTALL_DIR ${Wireshark_PLUGIN_INSTALL_DIR} is not under ${MTLS_DEB_PREFIX}")
endif()
install(TARGETS mtls LIBRARY DESTINATION "${MTLS_DEB_PLUGIN_DIR}" COMPONENT deb EXCLUDE_FROM_ALL)

# The package holding the libwireshark this build links: the real file behind the
# imported target epan, asked of dpkg.
set(MTLS_DEB_DEPENDS "")
find_program(MTLS_DPKG_QUERY dpkg-query)
get_target_property(mtls_epan_location epan IMPORTED_LOCATION)
if(NOT mtls_epan_location)
  get_target_property(mtls_epan_configs epan IMPORTED_CONFIGURATIONS)
  foreach(mtls_config IN LISTS mtls_epan_configs)
    get_target_property(mtls_epan_location epan IMPORTED_LOCATION_${mtls_config})
    if(mtls_epan_location)
      break()
    endif()
  endforeach()
endif()
if(MTLS_DPKG_QUERY AND mtls_epan_location)
  get_filename_component(mtls_epan_real "${mtls_epan_location}" REALPATH)
  execute_process(COMMAND ${MTLS_DPKG_QUERY} -S "${mtls_epan_real}"
                  OUTPUT_VARIABLE mtls_owner RESULT_VARIABLE mtls_status ERROR_QUIET)
  # "libwireshark16:amd64: /usr/lib/x86_64-linux-gnu/libwireshark.so.16.0.17"
  if(mtls_status EQUAL 0 AND mtls_owner MATCHES "^([a-z0-9.+-]+)(:[a-z0-9]+)?: ")
    set(mtls_abi_package "${CMAKE_MATCH_1}")
    execute_process(COMMAND ${MTLS_DPKG_QUERY} -W "-f=\${Version}" "${mtls_abi_package}"
                    OUTPUT_VARIABLE mtls_abi_version OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    set(MTLS_DEB_DEPENDS "${mtls_abi_package} (>= ${mtls_abi_version})")
  endif()
endif()
if(MTLS_DEB_DEPENDS)
  message(STATUS "mtls .deb: ${MTLS_DEB_PLUGIN_DIR}, Depends: ${MTLS_DEB_DEPENDS}")
else()
  message(STATUS "mtls .deb: no dpkg package owns ${mtls_epan_location}: cpack -G DEB would not know the Wireshark ABI it needs")
endif()

set(CPACK_PACKAGE_NAME "wireshark-plugin-mtls")
set(CPACK_PACKAGE_VENDOR "mtls plugin authors")
set(CPACK_PACKAGE_CONTACT "mtls plugin authors <mtls@invalid>")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Wireshark ${MTLS_WIRESHARK_ABI} plugin: did TLS client authentication (mutual TLS) happen")
set(CPACK_PACKAGE_DESCRIPTION
    "A post-dissector that tells, for every TLS handshake, whether the server asked\nfor a client certificate, what the client answered and how the server decided.")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/README.md")
# The .deb's prefix is Wireshark's; the source tarball must not get one (cpack
# reads this file at packaging time, once per generator).
file(WRITE "${PROJECT_BINARY_DIR}/MtlsCPackOptions.cmake"
     "if(CPACK_GENERATOR STREQUAL \"DEB\")\n  set(CPACK_PACKAGING_INSTALL_PREFIX \"${MTLS_DEB_PREFIX}\")\nendif()\n")
set(CPACK_PROJECT_CONFIG_FILE "${PROJECT_BINARY_DIR}/MtlsCPackOptions.cmake")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL deb)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_NAME "wireshark-plugin-mtls")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${MTLS_DEB_DEPENDS}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_ENHANCES "wireshark, tshark")

set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_PACKAGE_FILE_NAME "wireshark-plugin-mtls-${PROJECT_VERSION}")
set(CPACK_SOURCE_IGNORE_FILES "/[.]git/" "/[.]git$" "/build[^/]*/" "/__pycache__/" "${PROJECT_BINARY_DIR}/")
include(CPack)
