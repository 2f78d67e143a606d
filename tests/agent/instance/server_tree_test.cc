#include "agent/instance/server_tree.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;
using ::l4d2::testing::TempDir;

class ServerTreeTest : public ::testing::Test {
 protected:
  void Dir(const std::string& relative) { fs::create_directories(dir_.Sub(relative)); }
  void File(const std::string& relative) {
    fs::create_directories(fs::path(dir_.Sub(relative)).parent_path());
    ASSERT_TRUE(WriteFileAtomically(dir_.Sub(relative), "x").ok());
  }
  uid_t OwnerOf(const std::string& relative) {
    struct stat st {};
    return ::lstat(dir_.Sub(relative).c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
  }

  TempDir dir_;
  const FileOwner me_{.uid = ::getuid(), .gid = ::getgid()};
};

TEST_F(ServerTreeTest, EveryMergedDirectoryBecomesTheServersInItsWritableLayer) {
  // Highest first: the instance's layer, an overlay, the install.
  Dir("layer/left4dead2/cfg");
  Dir("overlay/left4dead2/addons/sourcemod/logs");
  File("overlay/left4dead2/maps");  // a file hides the install's maps/ directory
  Dir("install/left4dead2/maps/workshop");
  Dir("install/bin");
  File("install/srcds_run");
  fs::create_directory_symlink("bin", dir_.Sub("install/bin-link"));
  Dir("upper");
  File("upper/left4dead2/cfg/hidden");  // what the game removed or replaced stays so
  ASSERT_TRUE(GiveDirectoriesTo(dir_.Sub("upper"),
                                {dir_.Sub("layer"), dir_.Sub("overlay"), dir_.Sub("install")}, me_)
                  .ok());
  for (const char* made : {"upper/left4dead2", "upper/left4dead2/cfg", "upper/left4dead2/addons",
                           "upper/left4dead2/addons/sourcemod/logs", "upper/bin"}) {
    EXPECT_TRUE(fs::is_directory(dir_.Sub(made))) << made;
    EXPECT_EQ(OwnerOf(made), me_.uid) << made;
    EXPECT_EQ(fs::status(dir_.Sub(made)).permissions() & fs::perms::all,
              fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                  fs::perms::others_read | fs::perms::others_exec)
        << made;
  }
  EXPECT_FALSE(fs::exists(dir_.Sub("upper/left4dead2/maps")));  // a file above it
  EXPECT_FALSE(fs::exists(dir_.Sub("upper/bin-link")));         // links are not followed
  EXPECT_FALSE(fs::exists(dir_.Sub("upper/srcds_run")));        // files stay the layers'
  EXPECT_TRUE(fs::is_regular_file(dir_.Sub("upper/left4dead2/cfg/hidden")));
}

TEST_F(ServerTreeTest, AnUpperOfAnotherOwnerIsGivenWholeAndAFileStopsTheWalk) {
  if (::getuid() != 0) GTEST_SKIP() << "changing owners needs root";
  Dir("install/left4dead2/cfg");
  File("upper/left4dead2/logs/old.log");  // written under the shared account of old
  const FileOwner server{.uid = 4242, .gid = 4242};
  ASSERT_TRUE(GiveDirectoriesTo(dir_.Sub("upper"), {dir_.Sub("install")}, server).ok());
  EXPECT_EQ(OwnerOf("upper"), 4242u);
  EXPECT_EQ(OwnerOf("upper/left4dead2/logs/old.log"), 4242u);
  EXPECT_EQ(OwnerOf("upper/left4dead2/cfg"), 4242u);
}

}  // namespace
}  // namespace l4d2::agent
