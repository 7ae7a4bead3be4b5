# Generates and installs interlock.pc (pkg-config) for non-CMake builds.
# Included from the top-level CMakeLists.txt inside its install rules.
#
# The file is relocatable: `prefix` is ${pcfiledir} plus the relative path
# from <libdir>/pkgconfig back to the install prefix, because the prefix is
# only known at install time (`cmake --install build --prefix p`) and a
# packaged tree may be moved. An absolute CMAKE_INSTALL_LIBDIR/INCLUDEDIR (e.g.
# given by a distribution) is used as written (so is a libdir with ".." in it).
set(interlock_pc_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${interlock_pc_dir}" OR interlock_pc_dir MATCHES "(^|/)\\.\\.(/|$)")
  set(interlock_pc_prefix "${CMAKE_INSTALL_PREFIX}")
else()
  # One ".." per component of lib/pkgconfig (or lib/x86_64-linux-gnu/pkgconfig).
  set(interlock_pc_prefix "\${pcfiledir}")
  string(REPLACE "/" ";" interlock_pc_parts "${interlock_pc_dir}")
  foreach(part IN LISTS interlock_pc_parts)
    if(NOT part STREQUAL "" AND NOT part STREQUAL ".")
      string(APPEND interlock_pc_prefix "/..")
    endif()
  endforeach()
endif()
foreach(kind IN ITEMS includedir libdir)
  string(TOUPPER "${kind}" interlock_pc_upper)
  set(interlock_pc_value "${CMAKE_INSTALL_${interlock_pc_upper}}")
  if(IS_ABSOLUTE "${interlock_pc_value}")
    set(interlock_pc_${kind} "${interlock_pc_value}")
  else()
    set(interlock_pc_${kind} "\${prefix}/${interlock_pc_value}")
  endif()
endforeach()
configure_file("${CMAKE_CURRENT_LIST_DIR}/interlock.pc.in"
               "${PROJECT_BINARY_DIR}/interlock.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/interlock.pc" DESTINATION "${interlock_pc_dir}")
