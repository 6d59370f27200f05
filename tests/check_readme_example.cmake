# ctest script: README.md's library example must be, word for word, the part of
# tests/consumer/main.cpp between the lines "// README example begin" and "// README example end"
# (that program is built and run against the installed library by the install_consumer test).
# In README.md the example is the ```cpp block right after the line README_MARKER below.
set(README_MARKER "<!-- the README example of tests/consumer/main.cpp (the readme_example test keeps them equal) -->")
file(READ ${SOURCE_DIR}/README.md readme)
file(READ ${SOURCE_DIR}/tests/consumer/main.cpp program)

function(between text begin end out what)
  string(FIND "${text}" "${begin}" b)
  if(b EQUAL -1)
    message(FATAL_ERROR "${what}: no line '${begin}'")
  endif()
  string(LENGTH "${begin}" n)
  math(EXPR b "${b} + ${n}")
  string(SUBSTRING "${text}" ${b} -1 rest)
  string(FIND "${rest}" "${end}" e)
  if(e EQUAL -1)
    message(FATAL_ERROR "${what}: no '${end}' after '${begin}'")
  endif()
  string(SUBSTRING "${rest}" 0 ${e} part)
  set(${out} "${part}" PARENT_SCOPE)
endfunction()

between("${program}" "// README example begin\n" "// README example end\n" code "tests/consumer/main.cpp")
between("${readme}" "${README_MARKER}\n```cpp\n" "```\n" block "README.md")
if(NOT code STREQUAL block)
  # Show the difference (both texts are written to WORK_DIR for a closer look).
  file(WRITE ${WORK_DIR}/consumer_excerpt.cpp "${code}")
  file(WRITE ${WORK_DIR}/readme_block.cpp "${block}")
  execute_process(COMMAND diff -u ${WORK_DIR}/consumer_excerpt.cpp ${WORK_DIR}/readme_block.cpp)
  message(FATAL_ERROR "README.md's library example differs from the README example of tests/consumer/main.cpp "
                      "(above: diff -u program README). Copy the region between the markers of main.cpp into "
                      "the README block.")
endif()
message(STATUS "README.md's library example is the one of tests/consumer/main.cpp")
