# Run by CPack (CPACK_PRE_BUILD_SCRIPTS) on its staging tree, before it makes the .deb, whose data
# archive takes each file's mode from there: /etc/lwgate 0750 and gateway.yaml 0640, because the
# configuration may hold secrets. dpkg unpacks them root:root; postinst gives both the group
# lwgate the service runs as. `cmake --install` keeps 0755 and 0644: it creates no group.
file(GLOB_RECURSE etc_dirs LIST_DIRECTORIES true "${CPACK_TEMPORARY_DIRECTORY}/*")
set(found FALSE)
foreach(path IN LISTS etc_dirs)
  if(IS_DIRECTORY "${path}" AND path MATCHES "/etc/lwgate$")
    file(CHMOD "${path}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                                     GROUP_EXECUTE)
    file(CHMOD "${path}/gateway.yaml" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
    set(found TRUE)
  endif()
endforeach()
if(NOT found)
  message(FATAL_ERROR "cpack_etc_modes: no etc/lwgate under ${CPACK_TEMPORARY_DIRECTORY}")
endif()
