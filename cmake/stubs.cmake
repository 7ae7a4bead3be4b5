# cmake/stubs.cmake, included by bindings/CMakeLists.txt after the _interlock target.
# The extension's stubs (interlock/_interlock/*.pyi): generated after the
# module is built by importing it (scripts/stubgen.py, nanobind's stub
# generator reading the typed signatures of bindings/fast_methods.hpp), and
# installed beside it; never tracked. A cross build cannot import what it
# built: it installs the stubs of a native build given as
# INTERLOCK_STUB_DIR (the directory holding _interlock/), else none.
set(INTERLOCK_STUB_DIR "" CACHE PATH "pre-generated stubs for a cross build (holds _interlock/)")
if(NOT CMAKE_CROSSCOMPILING)
  set(interlock_stubs "${CMAKE_CURRENT_BINARY_DIR}/stubs")
  # The Python modules patch the native classes the generator reads.
  file(GLOB_RECURSE interlock_py CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/python/interlock/*.py")
  add_custom_command(
    OUTPUT "${interlock_stubs}/_interlock/__init__.pyi"
    COMMAND "${CMAKE_COMMAND}" -E rm -rf "${interlock_stubs}"
    COMMAND "${Python_EXECUTABLE}" "${PROJECT_SOURCE_DIR}/scripts/stubgen.py" "${interlock_stubs}"
            "$<TARGET_FILE_DIR:_interlock>" "${PROJECT_SOURCE_DIR}/python/interlock"
    DEPENDS _interlock "${PROJECT_SOURCE_DIR}/scripts/stubgen.py" ${interlock_py}
    COMMENT "Generating the stubs of interlock._interlock"
    VERBATIM)
  add_custom_target(interlock_stubs ALL DEPENDS "${interlock_stubs}/_interlock/__init__.pyi")
  install(DIRECTORY "${interlock_stubs}/_interlock" DESTINATION interlock)
elseif(INTERLOCK_STUB_DIR)
  install(DIRECTORY "${INTERLOCK_STUB_DIR}/_interlock" DESTINATION interlock)
else()
  message(WARNING "cross build: interlock._interlock gets no stubs (set INTERLOCK_STUB_DIR)")
endif()
