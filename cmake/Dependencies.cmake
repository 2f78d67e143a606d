# Every third-party dependency is found here, once, and exposed as an imported target named
# l4d2::<dep>. Debian 12 ships some as CMake packages, some as pkg-config files, SOCI as neither.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# Abseil 20220623, gRPC 1.51 and Protobuf 3.21.
find_package(absl CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_program(L4D2_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

# yaml-cpp 0.7.0 (its config exports the plain target "yaml-cpp").
find_package(yaml-cpp CONFIG REQUIRED)
add_library(l4d2::yaml INTERFACE IMPORTED)
target_link_libraries(l4d2::yaml INTERFACE yaml-cpp)

# Pistache 0.0.5, libsystemd and libsodium through pkg-config.
pkg_check_modules(PISTACHE REQUIRED IMPORTED_TARGET libpistache)
add_library(l4d2::pistache INTERFACE IMPORTED)
target_link_libraries(l4d2::pistache INTERFACE PkgConfig::PISTACHE)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
add_library(l4d2::systemd INTERFACE IMPORTED)
target_link_libraries(l4d2::systemd INTERFACE PkgConfig::SYSTEMD)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
add_library(l4d2::sodium INTERFACE IMPORTED)
target_link_libraries(l4d2::sodium INTERFACE PkgConfig::SODIUM)

# libarchive (overlay archives: tar.gz and zip, extracted with its secure flags; servers'
# backups: pax tar with zstd), libcurl (fetching archives) and OpenSSL's libcrypto (SHA-256).
pkg_check_modules(LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
add_library(l4d2::archive INTERFACE IMPORTED)
target_link_libraries(l4d2::archive INTERFACE PkgConfig::LIBARCHIVE)
pkg_check_modules(LIBCURL REQUIRED IMPORTED_TARGET libcurl)
add_library(l4d2::curl INTERFACE IMPORTED)
target_link_libraries(l4d2::curl INTERFACE PkgConfig::LIBCURL)
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto)
add_library(l4d2::crypto INTERFACE IMPORTED)
target_link_libraries(l4d2::crypto INTERFACE PkgConfig::LIBCRYPTO)

# SOCI 4.0.3: core plus the sqlite3 and postgresql back ends, linked directly so that no
# back end is loaded dynamically by name at run time.
find_path(SOCI_INCLUDE_DIR soci/soci.h REQUIRED)
find_library(SOCI_CORE_LIBRARY soci_core REQUIRED)
find_library(SOCI_SQLITE3_LIBRARY soci_sqlite3 REQUIRED)
find_library(SOCI_POSTGRESQL_LIBRARY soci_postgresql REQUIRED)
find_path(POSTGRESQL_INCLUDE_DIR libpq-fe.h PATH_SUFFIXES postgresql REQUIRED)
add_library(l4d2::soci INTERFACE IMPORTED)
target_include_directories(l4d2::soci INTERFACE ${SOCI_INCLUDE_DIR} ${POSTGRESQL_INCLUDE_DIR})
target_link_libraries(l4d2::soci INTERFACE
  ${SOCI_SQLITE3_LIBRARY} ${SOCI_POSTGRESQL_LIBRARY} ${SOCI_CORE_LIBRARY} ${CMAKE_DL_LIBS})

if(L4D2_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
  # zlib: the tests' zip bomb (a deflate stream written by hand).
  find_package(ZLIB REQUIRED)
  add_library(l4d2::zlib INTERFACE IMPORTED)
  target_link_libraries(l4d2::zlib INTERFACE ZLIB::ZLIB)
endif()
