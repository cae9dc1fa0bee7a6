// Files the app tests read (configurations, documents), written under gtest's temp folder.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace swmld::app::testing_files {

// This process's folder under TempDir(), removed when it exits: ctest runs each test case as
// a process of its own, in parallel, and two of them writing one file name made each other's
// configuration unreadable.
inline const std::string& dir() {
  struct Folder {
    std::string path = testing::TempDir() + "swmld-app-" + std::to_string(getpid()) + "/";
    Folder() { std::filesystem::create_directories(path); }
    ~Folder() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Folder folder;
  return folder.path;
}

// Writes `text` to dir()/name and returns the path.
inline std::string write(const std::string& name, const std::string& text) {
  std::string path = dir() + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace swmld::app::testing_files
