# Cross build for Windows x86_64 with Debian's mingw-w64 (posix threads
# variant), tests run under wine64: scripts/cross-check.sh.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Self-contained .exe files (no libstdc++/libgcc/winpthread DLLs to copy).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
find_program(INTERLOCK_WINE64 NAMES wine64 wine PATHS /usr/lib/wine)
if(INTERLOCK_WINE64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${INTERLOCK_WINE64})
endif()
