// interlock/interlock.hpp — every primitive of the interlock C++ core.
#pragma once

#include "interlock/condition_variable.hpp"
#include "interlock/config.hpp"
#include "interlock/critical_section.hpp"
#include "interlock/deadline.hpp"
#include "interlock/event.hpp"
#include "interlock/fatal.hpp"
#include "interlock/function_ref.hpp"
#include "interlock/mutex.hpp"
#include "interlock/once.hpp"
#include "interlock/parking_lot.hpp"
#include "interlock/raw_mutex.hpp"
#include "interlock/recursive_mutex.hpp"
#include "interlock/rw_mutex.hpp"
#include "interlock/semaphore.hpp"
#include "interlock/seq_lock.hpp"
#include "interlock/wait_hooks.hpp"
