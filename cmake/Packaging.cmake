# Debian packages (CPack's DEB generator, one package per component), configured with
# -DL4D2_PACKAGE=ON in a build directory of their own for /usr (tests/package/run):
#
#   l4d2-agent       l4d2-agent and its helpers (left4me-overlay, left4me-console,
#                    left4me-fetch: every l4d2_product_program below agent/), the agent's unit,
#                    its accounts (sysusers.d), its root (tmpfiles.d), /etc/left4me/agent.yaml,
#                    the firewall (left4me-firewall.service, /etc/left4me/firewall.nft)
#   l4d2-controller  l4d2-controller, the web UI, its unit and account,
#                    /etc/left4me/controller.yaml
#   l4d2ctl          l4d2ctl, its shell completions, the docs and the API's .proto files
#
# Dependencies come from dpkg-shlibdeps (the Debian libraries the programs link) plus what they
# run (systemd, bubblewrap, nftables for the firewall). Maintainer scripts: deploy/debian/<package>/.
# The game server template and the slices are not shipped: the agent writes them at start from
# its configuration (agent/instance/unit_files.h).

set(L4D2_UNIT_DIR /lib/systemd/system)  # bookworm's place for packaged units

# The units, with the programs where this build installs them.
foreach(unit left4me-agent.service left4me-firewall.service left4me-controller.service)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${PROJECT_SOURCE_DIR}/deploy/systemd/${unit})
  file(READ ${PROJECT_SOURCE_DIR}/deploy/systemd/${unit} text)
  string(REPLACE "/usr/local/bin/" "${CMAKE_INSTALL_FULL_BINDIR}/" text "${text}")
  string(REPLACE "/usr/local/share/" "${CMAKE_INSTALL_FULL_DATADIR}/" text "${text}")
  file(WRITE ${PROJECT_BINARY_DIR}/package/${unit} "${text}")
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/package/left4me-agent.service
              ${PROJECT_BINARY_DIR}/package/left4me-firewall.service
        DESTINATION ${L4D2_UNIT_DIR} COMPONENT agent)
install(FILES ${PROJECT_BINARY_DIR}/package/left4me-controller.service
        DESTINATION ${L4D2_UNIT_DIR} COMPONENT controller)
install(FILES deploy/sysusers.d/left4me.conf
        DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d COMPONENT agent)
install(FILES deploy/tmpfiles.d/left4me.conf
        DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d COMPONENT agent)
install(FILES deploy/sysusers.d/left4me-controller.conf
        DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d COMPONENT controller)
install(FILES deploy/etc/agent.yaml DESTINATION /etc/left4me COMPONENT agent)
install(FILES deploy/nftables/left4me.nft DESTINATION /etc/left4me RENAME firewall.nft
        COMPONENT agent)
# left4me-overlay is linked statically on purpose (agent/overlay_helper/CMakeLists.txt).
install(FILES deploy/debian/l4d2-agent/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME l4d2-agent COMPONENT agent)
install(FILES deploy/etc/controller.yaml DESTINATION /etc/left4me COMPONENT controller)

# Each package's copyright and changelog, as Debian policy wants them.
string(TIMESTAMP L4D2_PACKAGE_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
foreach(component agent controller ctl)
  if(component STREQUAL "ctl")
    set(package l4d2ctl)
  else()
    set(package l4d2-${component})
  endif()
  set(doc ${PROJECT_BINARY_DIR}/package/doc/${package})
  file(MAKE_DIRECTORY ${doc})
  file(WRITE ${doc}/copyright
       "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
       "Upstream-Name: left4me\n\nFiles: *\nCopyright: 2026 the left4me authors\n"
       "License: proprietary\n All rights reserved.\n")
  file(WRITE ${doc}/changelog
       "${package} (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
       "  * Release ${PROJECT_VERSION}.\n\n"
       " -- left4me maintainers <maintainers@left4me.invalid>  ${L4D2_PACKAGE_DATE}\n")
  execute_process(COMMAND gzip -n -9 -f ${doc}/changelog)
  install(FILES ${doc}/copyright ${doc}/changelog.gz
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} COMPONENT ${component})
endforeach()

# Manual pages from each program's --help and --version (help2man).
find_program(L4D2_HELP2MAN help2man REQUIRED)
foreach(program agent controller ctl)
  if(program STREQUAL "ctl")
    set(target l4d2ctl)
    set(summary "command line for left4me agents and controllers")
  else()
    set(target l4d2-${program})
    set(summary "the left4me ${program}")
  endif()
  set(page ${PROJECT_BINARY_DIR}/package/man/${target}.1.gz)
  add_custom_command(OUTPUT ${page}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/package/man
    COMMAND sh -c "${L4D2_HELP2MAN} --no-info --no-discard-stderr --name='${summary}' $<TARGET_FILE:${target}> | gzip -n -9 > ${page}"
    DEPENDS ${target} VERBATIM)
  add_custom_target(${target}-man ALL DEPENDS ${page})
  install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT ${program})
endforeach()

file(WRITE ${PROJECT_BINARY_DIR}/package/agent/conffiles
     "/etc/left4me/agent.yaml\n/etc/left4me/firewall.nft\n")
file(WRITE ${PROJECT_BINARY_DIR}/package/controller/conffiles "/etc/left4me/controller.yaml\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME left4me)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "left4me maintainers <maintainers@left4me.invalid>")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://left4me.invalid")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent controller ctl)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME l4d2-agent)
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "Left 4 Dead 2 dedicated servers of one host, managed over gRPC\n"
    "The left4me host agent installs the game with steamcmd into one shared\n"
    "installation, makes each server an overlayfs stack over it, runs each as a\n"
    "systemd unit under an account of its own, and answers its controller.")
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "systemd, bubblewrap, nftables")
set(CPACK_DEBIAN_AGENT_PACKAGE_SUGGESTS "steamcmd")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/deploy/debian/l4d2-agent/postinst;${PROJECT_SOURCE_DIR}/deploy/debian/l4d2-agent/prerm;${PROJECT_SOURCE_DIR}/deploy/debian/l4d2-agent/postrm;${PROJECT_BINARY_DIR}/package/agent/conffiles")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

set(CPACK_DEBIAN_CONTROLLER_PACKAGE_NAME l4d2-controller)
set(CPACK_COMPONENT_CONTROLLER_DESCRIPTION
    "Fleet controller for Left 4 Dead 2 dedicated servers\n"
    "The left4me controller keeps users, blueprints, overlays, hosts and servers\n"
    "in SQLite or PostgreSQL, schedules work on the hosts' agents, and serves the\n"
    "REST and event-stream API and the web UI.")
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/deploy/debian/l4d2-controller/postinst;${PROJECT_SOURCE_DIR}/deploy/debian/l4d2-controller/prerm;${PROJECT_SOURCE_DIR}/deploy/debian/l4d2-controller/postrm;${PROJECT_BINARY_DIR}/package/controller/conffiles")
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

set(CPACK_DEBIAN_CTL_PACKAGE_NAME l4d2ctl)
set(CPACK_COMPONENT_CTL_DESCRIPTION
    "Command line for left4me agents and controllers\n"
    "l4d2ctl drives a host's agent over gRPC or the fleet's controller over its\n"
    "REST API, for operators and CI; with the documentation and the API's .proto\n"
    "files.")
include(CPack)
