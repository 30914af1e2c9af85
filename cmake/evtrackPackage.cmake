# evtrackPackage.cmake -- the files `cmake --install` adds for programs that
# embed evtrack and for third-party sinks: pkg-config files (evtrack.pc,
# evtrack-sdk.pc, evtrack-sdk-http.pc) and the CMake package
# (find_package(evtrack): evtrack::evtrack, evtrack::sdk, evtrack::sdk_http).
# Each file finds the prefix relative to its own location, so an install
# made with `cmake --install build --prefix DIR`, or moved afterwards,
# works as well as one to the configured CMAKE_INSTALL_PREFIX.
# Included from core/CMakeLists.txt, once evtrack and evt_sdk exist.
include(CMakePackageConfigHelpers)

set(EVT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/evtrack)
set(EVT_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
set(EVT_PKG_BUILD_DIR ${PROJECT_BINARY_DIR}/evtrack-package)

# ---- CMake package ----------------------------------------------------------
install(EXPORT evtrackTargets NAMESPACE evtrack::
  FILE evtrackTargets.cmake DESTINATION ${EVT_CMAKE_DIR})
install(EXPORT evtrackHttpTargets NAMESPACE evtrack::
  FILE evtrackHttpTargets.cmake DESTINATION ${EVT_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/evtrackConfig.cmake.in
  ${EVT_PKG_BUILD_DIR}/evtrackConfig.cmake
  INSTALL_DESTINATION ${EVT_CMAKE_DIR}
  PATH_VARS EVT_PLUGIN_SUBDIR CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${EVT_PKG_BUILD_DIR}/evtrackConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${EVT_PKG_BUILD_DIR}/evtrackConfig.cmake
  ${EVT_PKG_BUILD_DIR}/evtrackConfigVersion.cmake
  DESTINATION ${EVT_CMAKE_DIR})

# ---- pkg-config -------------------------------------------------------------
# prefix=${pcfiledir}/../.. (as many ".." as CMAKE_INSTALL_LIBDIR/pkgconfig
# has parts), unless the libdir was given as an absolute path.
function(evt_pc_dir out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
if(IS_ABSOLUTE "${EVT_PKGCONFIG_DIR}")
  set(EVT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH EVT_PC_UP "/p/${EVT_PKGCONFIG_DIR}" "/p")
  string(REGEX REPLACE "/$" "" EVT_PC_UP "${EVT_PC_UP}")
  set(EVT_PC_PREFIX "\${pcfiledir}/${EVT_PC_UP}")
endif()
evt_pc_dir(EVT_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
evt_pc_dir(EVT_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
foreach(pc evtrack evtrack-sdk evtrack-sdk-http)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in
    ${EVT_PKG_BUILD_DIR}/${pc}.pc @ONLY)
  install(FILES ${EVT_PKG_BUILD_DIR}/${pc}.pc DESTINATION ${EVT_PKGCONFIG_DIR})
endforeach()
